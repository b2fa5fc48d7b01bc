package server

// text is what the hosted login page says, in one language.
type text struct {
	Title            string `json:"-"`
	UseQR            string `json:"-"`
	Switch           string `json:"-"`
	ConfirmOnDesktop string `json:"confirmOnDesktop"`
	QRAlt            string `json:"-"`
	ScanHint         string `json:"-"`
	Again            string `json:"-"`
	Checking         string `json:"checking"`
	ContinueAs       string `json:"continueAs"`
	SigningIn        string `json:"signingIn"`
	Denied           string `json:"denied"`
	TimedOut         string `json:"timedOut"`
	Refused          string `json:"refused"`
	UseQRNow         string `json:"useQRNow"`
	SwitchHint       string `json:"switchHint"`
	Scanned          string `json:"scanned"`
	Cancelled        string `json:"cancelled"`
	Refreshed        string `json:"refreshed"`
	Error            string `json:"error"`
	// WaitingPermission is shown beside the QR code while the browser asks
	// the person whether this page may reach the desktop app.
	WaitingPermission string `json:"waitingPermission"`
	// Why the page shows the QR code rather than "Continue as …": the
	// desktop app's own answer, or that it did not answer at all.
	NotRunning string `json:"notRunning"`
	Paused     string `json:"paused"`
	Locked     string `json:"locked"`
	SignedOut  string `json:"signedOut"`
	Offline    string `json:"offline"`
	NotAllowed string `json:"notAllowed"`
	// UsePassword links an OpenID Connect sign-in to the password form,
	// for people with neither the desktop app nor a signed-in phone.
	UsePassword string `json:"-"`
	// UsePasskey links a WeChat sign-in to the passkey sign-in.
	UsePasskey string `json:"-"`
	// The waiting page: its Cancel, the confirmation's countdown (%s is
	// m:ss) and help for a window that did not show.
	Cancel    string `json:"-"`
	Countdown string `json:"countdown"`
	NoWindow  string `json:"-"`
	// After a confirmation that did not allow: why the page shows the QR
	// code, and "Continue as …" again once the cooldown ends (%s the
	// name, %d the seconds).
	CancelledHere string `json:"cancelledHere"`
	Cooldown      string `json:"cooldown"`
	Busy          string `json:"busy"`
	ContinueIn    string `json:"continueIn"`
	// QRLink opens the QR code's address as text, for a phone that cannot
	// scan or `scanfreed approve URL` at a terminal.
	QRLink string `json:"-"`
}

var texts = map[string]text{
	"en": {
		Title: "Sign in", UseQR: "Use QR code instead", Switch: "Switch account",
		ConfirmOnDesktop: "Confirm the sign-in in the window on your desktop…",
		QRAlt:            "QR code: scan it with your phone to sign in", ScanHint: "Scan with your phone to sign in",
		Again: "Show a new QR code", Checking: "Looking for the desktop app…",
		ContinueAs: "Continue as %s", SigningIn: "Signing you in…", Denied: "You declined the sign-in on your desktop. Scan the QR code instead.",
		TimedOut: "The confirmation on your desktop timed out. Scan the QR code instead.", Refused: "This sign-in was refused:",
		UseQRNow: "Scan the QR code with your phone to sign in.", SwitchHint: "Scan with the phone of the account you want to use.",
		Scanned: "Scanned. Confirm on your phone.", Cancelled: "The sign-in was cancelled on the phone.",
		Refreshed: "The QR code expired; here is a new one.", Error: "Something went wrong; show a new QR code to try again.",
		WaitingPermission: "The desktop app is waiting for your browser's permission to connect. Allow it to sign in without scanning.",
		NotRunning:        "The desktop app is not installed or not running here. Scan the QR code with your phone to sign in.",
		Paused:            "Scan-free sign-in is paused in the desktop app. Scan the QR code, or resume it from the tray.",
		Locked:            "Your screen was locked, so the desktop app does not offer sign-in. Scan the QR code with your phone.",
		SignedOut:         "The desktop app is not signed in. Scan the QR code, or sign the desktop in with `scanfreed login`.",
		Offline:           "The desktop app cannot reach the sign-in service right now. Scan the QR code with your phone.",
		NotAllowed:        "Your browser does not let this page reach the desktop app. Scan the QR code with your phone.",
		UsePassword:       "Sign in with a passkey or your password instead",
		UsePasskey:        "Sign in with a passkey instead",
		Cancel:            "Cancel",
		Countdown:         "The window closes in %s.",
		NoWindow:          "Didn't see a window? It may be behind this browser: look for it in the taskbar, or cancel and scan the QR code.",
		CancelledHere:     "You cancelled the sign-in. Scan the QR code, or continue scan-free again in a moment.",
		Cooldown:          "You said no moments ago, so scan-free sign-in here waits a little. Scan the QR code, or continue when the button is back.",
		Busy:              "A confirmation window is already open on your desktop: answer it first, or scan the QR code.",
		ContinueIn:        "Continue as %s (in %d s)",
		QRLink:            "Can't scan? The QR code's address",
	},
	"cn": {
		Title: "登录", UseQR: "使用二维码登录", Switch: "切换账号",
		ConfirmOnDesktop: "请在电脑上弹出的窗口中确认登录…",
		QRAlt:            "二维码：使用手机扫码登录", ScanHint: "使用手机扫码登录",
		Again: "刷新二维码", Checking: "正在查找电脑客户端…",
		ContinueAs: "以 %s 身份继续", SigningIn: "正在登录…", Denied: "你已在电脑上拒绝登录，请扫码登录。",
		TimedOut: "电脑上的确认已超时，请扫码登录。", Refused: "登录被拒绝：",
		UseQRNow: "请使用手机扫码登录。", SwitchHint: "请使用要登录账号的手机扫码。",
		Scanned: "已扫码，请在手机上确认。", Cancelled: "已在手机上取消登录。",
		Refreshed: "二维码已过期，已自动刷新。", Error: "出错了，请刷新二维码重试。",
		WaitingPermission: "电脑客户端正在等待浏览器授予连接权限。允许后即可免扫码登录。",
		NotRunning:        "本机未安装或未运行电脑客户端，请使用手机扫码登录。",
		Paused:            "电脑客户端已暂停免扫码登录。请扫码登录，或在托盘中恢复。",
		Locked:            "屏幕已锁定，电脑客户端暂不提供登录。请使用手机扫码登录。",
		SignedOut:         "电脑客户端尚未登录。请扫码登录，或运行 `scanfreed login` 登录电脑。",
		Offline:           "电脑客户端暂时无法连接登录服务，请使用手机扫码登录。",
		NotAllowed:        "浏览器不允许此页面连接电脑客户端，请使用手机扫码登录。",
		UsePassword:       "使用通行密钥或密码登录",
		UsePasskey:        "使用通行密钥登录",
		Cancel:            "取消",
		Countdown:         "窗口将在 %s 后关闭。",
		NoWindow:          "没看到窗口？它可能在浏览器后面：请在任务栏中查找，或取消后扫码登录。",
		CancelledHere:     "你已取消登录。请扫码登录，或稍后再免扫码继续。",
		Cooldown:          "你刚刚拒绝了登录，免扫码登录需稍等片刻。请扫码登录，或等按钮恢复后继续。",
		Busy:              "电脑上已有一个确认窗口，请先处理它，或扫码登录。",
		ContinueIn:        "以 %s 身份继续（%d 秒后）",
		QRLink:            "无法扫码？查看二维码的地址",
	},
}

// textFor returns the strings for a lang parameter ("cn" or "en"; English
// when unknown) and the HTML lang attribute.
func textFor(lang string) (text, string) {
	if lang == "cn" || lang == "zh_CN" || lang == "zh" || lang == "zh-cn" || lang == "zh-hans" {
		return texts["cn"], "zh-CN"
	}
	return texts["en"], "en"
}
