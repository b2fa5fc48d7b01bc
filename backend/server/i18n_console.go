package server

import (
	"fmt"
	"net/http"
	"strings"
)

// The operator console (and the pages it leads to: the password
// re-confirmation, its messages) speaks English or Chinese. Its texts are
// written in English in the templates and the handlers, as {{T "…"}} and
// tr(lang, "…"); zhConsole holds their Chinese. A text it lacks is shown
// in English, and TestConsoleCatalogue fails for it.
//
// What stays in English in a Chinese console: the admin operations' own
// error messages (shared word for word with the CLI), event details, and
// the codes an operator filters on (event kinds, methods, reasons), which
// are the same in CSV exports and in the SIEM's log lines.

// Console languages.
const (
	langEN = "en"
	langZH = "zh"
)

// langCookie remembers the language an operator picked with ?lang=.
const langCookie = "scanfree_lang"

// consoleLang picks the console's language for r: ?lang= (remembered in
// a cookie), else the cookie, else the browser's first preference.
func consoleLang(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l != "" {
		lang := normLang(l)
		if w != nil {
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
				HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
		}
		return lang
	}
	if c, err := r.Cookie(langCookie); err == nil {
		return normLang(c.Value)
	}
	first, _, _ := strings.Cut(r.Header.Get("Accept-Language"), ",")
	first, _, _ = strings.Cut(first, ";")
	return normLang(strings.TrimSpace(first))
}

// normLang maps a language tag to a console language: Chinese for any
// zh tag (and the WeChat API's "cn"), English otherwise.
func normLang(tag string) string {
	tag = strings.ToLower(tag)
	if tag == "cn" || tag == "zh" || strings.HasPrefix(tag, "zh-") || strings.HasPrefix(tag, "zh_") {
		return langZH
	}
	return langEN
}

// tr translates the console text s into lang, then fills in args as
// fmt.Sprintf does (only when there are any: s may hold a literal %).
func tr(lang, s string, args ...any) string {
	if lang == langZH {
		if z, ok := zhText(s); ok {
			s = z
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// zhText is the Chinese of the page text s.
func zhText(s string) (string, bool) {
	if z, ok := zhConsole[s]; ok {
		return z, ok
	}
	z, ok := zhPages[s]
	return z, ok
}

// zhConsole is the console's Chinese, by its English text.
var zhConsole = map[string]string{
	// The layout, the language switch and the pages around the console.
	"en": "zh-CN", "zh": "en", "zh-CN": "en", "中文": "English",
	"Sign out": "退出登录", "Your account": "我的账号", "never": "从未",
	"Username": "用户名", "Password": "密码", "Sign in": "登录",
	"Confirm it is you": "确认是你本人",
	"The operator console needs a sign-in made in the last 15 minutes. Confirm it on your desktop or phone, or enter your password again.": "管理后台要求在 15 分钟内登录过。请在电脑或手机上确认，或再次输入密码。",
	"Sign in with your desktop or phone instead":                                              "改用电脑或手机登录",
	"An administrator turned off signing in here with a desktop or phone. Use your password.": "管理员已关闭在此用电脑或手机登录。请使用密码。",
	"This sign-in was not started in this browser, or it took too long. Start again.":         "此次登录不是在这个浏览器中发起的，或已超时。请重新开始。",
	"This sign-in could not be used. Start again.":                                            "此次登录无法使用。请重新开始。",
	"Not from here": "不允许从此处访问",
	"The operator console is not open to your network address. Use it from the network your administrators named in --admin-allow-cidr.": "管理后台不对你的网络地址开放。请在管理员通过 --admin-allow-cidr 指定的网络中使用。",
	"Operators only": "仅限管理人员",
	"The operator console is for administrators and auditors. An administrator can give you a role with `scanfree-server user role`.": "管理后台仅供管理员和审计员使用。管理员可以用 `scanfree-server user role` 为你分配角色。",
	"Read only": "只读",
	"Auditors can read the console but change nothing. Ask an administrator.": "审计员只能查看，不能修改。请联系管理员。",
	"Not done":                    "未完成",
	"Sign in to continue to":      "登录以继续使用",
	"Wrong username or password.": "用户名或密码错误。",
	"Sign in with":                "登录方式",
	"Cannot sign in here":         "无法在此登录",
	"If a site sent you here, go back to it and try again; if it keeps happening, tell that site. Nothing about you was shared.": "如果是某个网站把你带到这里，请返回该网站重试；如果一直这样，请告诉该网站。你的任何信息都没有被共享。",
	"Your %s account": "你的 %s 账号",
	"Page not found":  "找不到页面",
	"There is no page at this address. Check the link, or start from your account.": "这个地址没有页面。请检查链接，或从你的账号开始。",
	"Enter your code": "输入验证码",
	"Code":            "验证码",
	"Your password was right. Now enter the code your authenticator app shows, or one of your recovery codes.": "密码正确。请输入身份验证器应用显示的验证码，或一个恢复码。",
	"This sign-in took too long. Enter your password again.":                                                   "此次登录耗时太久。请重新输入密码。",
	"Wrong code, or one used before. Enter the code your app shows now, or a recovery code.":                   "验证码错误或已使用过。请输入应用当前显示的验证码，或一个恢复码。",
	"Sign in with %s": "使用 %s 登录",
	"There is no such way to sign in here. Choose one on this page.":                          "这里没有这种登录方式。请在本页选择一种。",
	"%s did not sign you in. Start again, or sign in another way.":                            "%s 没有让你登录。请重新开始，或换一种方式登录。",
	"%s's answer could not be verified, so it did not sign you in. Start again.":              "无法验证 %s 的应答，因此没有登录。请重新开始。",
	"%s is not answering. Try again in a few minutes, or sign in with your desktop or phone.": "%s 没有响应。请过几分钟再试，或改用电脑或手机登录。",
	"Required directory groups, one per line (empty: everyone)":                               "必需的目录组，每行一个（留空：所有人）",
	"group":                                  "组",
	"Local account":                          "本地账号",
	"Choose how to sign in, then try again.": "请选择登录方式后重试。",
	"%s is not answering, so it cannot check your password. Try again in a few minutes, or sign in with your desktop or phone.": "%s 没有响应，无法核对你的密码。请过几分钟再试，或改用电脑或手机登录。",
	"Too many failed sign-ins. Wait 15 minutes, then try again.":                                                                "登录失败次数过多。请等待 15 分钟后再试。",
	"Sign-in is temporarily unavailable. Try again in a moment.":                                                                "登录服务暂时不可用，请稍后再试。",
	"Many people are signing in right now. Try again in a moment.":                                                              "当前登录人数较多，请稍后再试。",
	"Could not sign you in; try again.":                                                                                         "无法登录，请重试。",
	"This account was disabled by an administrator. Ask them to enable it.":                                                     "该账号已被管理员停用。请联系管理员启用。",

	// The tabs and page titles.
	"Console": "管理后台", "People": "人员", "Apps": "应用", "Desktops": "电脑", "Sign-in log": "登录日志",
	"administrator": "管理员", "auditor: read only": "审计员：只读",

	// Words in lists and tables.
	"Name": "名称", "Role": "角色", "Status": "状态", "Since": "起始时间", "Until": "截止时间",
	"active": "正常", "disabled": "已停用", "none": "无", "admin": "管理员", "auditor": "审计员",
	"Kind": "类型", "What": "内容", "Desktop": "电脑", "Started": "开始时间", "State": "状态",
	"web": "网页", "app": "应用", "desktop": "电脑", "browser": "浏览器",
	"End": "结束", "End %s %s": "结束%s %s", "ended %s": "已于 %s 结束", "None.": "无。", "None yet.": "暂无。",
	"App": "应用", "Scope": "授权范围", "Last": "最近", "Take back": "收回", "Take back %s": "收回 %s",
	"Person": "人员", "System": "系统", "Enrolled": "登记时间", "Last seen": "最近在线", "Last address": "最近地址",
	"Revoke": "吊销", "Revoke %s of %s": "吊销 %[2]s 的 %[1]s", "signed in": "已登录", "revoked %s": "已于 %s 吊销",
	"No desktop is enrolled.": "没有已登记的电脑。",

	// People.
	"Find a person by name or username": "按名称或用户名查找人员", "Search": "搜索", "Nobody matches.": "没有匹配的人员。",
	"Create a person": "新建人员", "Picture URL (optional)": "头像地址（可选）", "Create": "创建",
	"First password (at least 8 characters; give it to her in person)": "初始密码（至少 8 个字符；请当面交给本人）",
	"Account": "账号", "picture": "头像", "Active.": "正常。",
	"Disabled since %s: every sign-in is refused.": "自 %s 起停用：所有登录均被拒绝。",
	"Role: %s.": "角色：%s。", "%d wrong passwords counted against the account.": "该账号已记录 %d 次密码错误。",
	"Actions": "操作", "Sign out everywhere": "全部退出登录", "Disable": "停用", "Enable": "启用",
	"Make a password reset link": "生成密码重置链接", "Forget wrong passwords": "清除密码错误记录", "Set role": "设置角色",
	"Picture URL": "头像地址", "Save name and picture": "保存名称和头像",
	"Deleting %s cannot be undone": "删除 %s 后无法恢复", "Delete": "删除",
	"Sessions": "会话", "Apps she signed in to": "已登录的应用", "Recent events": "最近事件", "All of her events": "她的全部事件",
	"No such person": "没有这个人", "Nobody has that username; search on the People page.": "没有使用该用户名的人员；请在“人员”页面搜索。",
	"Give her this one-time link, valid 24 hours (it is shown only now): %s": "请把这个一次性链接交给她，24 小时内有效（只显示这一次）：%s",

	// Apps.
	"Redirect URIs": "回调地址", "public": "公开", "confidential": "机密", "No app yet.": "还没有应用。",
	"Register an app": "注册应用", "Name people see": "显示名称",
	"Redirect URIs, one per line (matched exactly)":                   "回调地址，每行一个（精确匹配）",
	"Domains, one per line (https URLs on them may be redirect URIs)": "域名，每行一个（其下的 https 地址可作回调地址）",
	"Icon URL (optional)": "图标地址（可选）",
	"Allowed networks, one CIDR range per line (empty: anywhere)":  "允许的网络，每行一个 CIDR 网段（留空：不限）",
	"Allowed countries, ISO codes such as CN SG (empty: anywhere)": "允许的国家或地区，ISO 代码，如 CN SG（留空：不限）",
	"id_token algorithm": "id_token 签名算法",
	"Public client (a native or single-page app: no secret, PKCE required)": "公开客户端（原生应用或单页应用：没有密钥，必须使用 PKCE）",
	"Register": "注册", "Secret:": "密钥：",
	"Copy it now: it is shown this once and stored only as a hash.": "请立即复制：它只显示这一次，服务器只保存其哈希值。",
	"public client": "公开客户端", "confidential client": "机密客户端", "since %s": "自 %s 起",
	"the previous secret works until %s": "旧密钥在 %s 前仍然有效",
	"Settings":                           "设置", "Redirect URIs, one per line": "回调地址，每行一个", "Domains, one per line": "域名，每行一个",
	"Icon URL": "图标地址", "Owner (apps of one owner share unionids; empty: the app alone)": "所属主体（同一主体的应用共享 unionid；留空：仅本应用）",
	"Allowed countries, ISO codes such as CN SG (empty: anywhere; needs the server's --geoip-db)": "允许的国家或地区，ISO 代码，如 CN SG（留空：不限；需要服务器的 --geoip-db）",
	"Offer scan-free sign-in (otherwise QR only)":                                                 "提供免扫码登录（否则只能扫码）", "Save": "保存",
	"Secret and status": "密钥与状态", "The old secret keeps working for": "旧密钥继续有效的时长", "Rotate the secret": "轮换密钥",
	"Deleting %s cannot be undone: its sign-ins and tokens stop at once": "删除 %s 后无法恢复：它的登录和令牌立即失效",
	"Redirect URIs:": "回调地址：", "Domains:": "域名：", "Fence:": "访问限制：", "Recent sign-ins": "最近登录",
	"No such app": "没有这个应用", "No app has that appid; see the Apps page.": "没有使用该 appid 的应用；请查看“应用”页面。",
	"Created. Copy the secret now: it is shown this once.":            "已创建。请立即复制密钥：它只显示这一次。",
	"Secret rotated. Copy the new secret now: it is shown this once.": "密钥已轮换。请立即复制新密钥：它只显示这一次。",
	"No such desktop": "没有这台电脑", "No desktop has that id; see the Desktops page.": "没有使用该 id 的电脑；请查看“电脑”页面。",

	// The sign-in log.
	"Person (username)": "人员（用户名）", "App (appid)": "应用（appid）", "Desktop (id)": "电脑（id）",
	"Address or CIDR range": "地址或 CIDR 网段", "Result": "结果", "any": "全部", "ok": "成功", "refused": "拒绝",
	"Method": "方式", "scanfree": "免扫码", "qr": "扫码", "password": "密码", "desktop_app": "电脑应用", "device_approval": "设备批准", "upstream": "外部身份源",
	"Kinds (comma-separated)": "事件类型（逗号分隔）", "24h or 2026-12-01": "24h 或 2026-12-01",
	"Show": "显示", "Export CSV": "导出 CSV", "Export JSON": "导出 JSON",
	"When": "时间", "How": "方式", "From": "来源", "Detail": "详情",
	"No event matches.": "没有匹配的事件。", "Older events": "更早的事件",

	// The notices after a change.
	"Created.": "已创建。", "Saved.": "已保存。", "Enabled.": "已启用。", "Role set.": "角色已设置。",
	"Deleted.": "已删除。", "Revoked.": "已吊销。", "Ended.": "已结束。",
	"Disabled: every desktop, sign-in and session of it ended.":                  "已停用：它的所有电脑、登录和会话均已结束。",
	"Signed out everywhere: her desktops, apps and browsers must sign in again.": "已全部退出登录：她的电脑、应用和浏览器都需要重新登录。",
	"Wrong passwords forgotten: her password sign-ins no longer wait.":           "已清除密码错误记录：她用密码登录时不再需要等待。",
	"The app's sign-in was taken back.":                                          "已收回该应用的登录授权。",

	// Passkeys.
	"Sign in with a passkey": "使用通行密钥登录",
	"No passkey was used: it was cancelled, timed out, or this device has none for this site. Try again, or sign in another way.":                                        "未使用通行密钥：已取消、已超时，或本设备没有此网站的通行密钥。请重试，或换一种方式登录。",
	"This browser cannot use passkeys. Sign in another way.":                                                                                                             "此浏览器无法使用通行密钥。请换一种方式登录。",
	"This site does not offer passkeys. Sign in another way.":                                                                                                            "此网站不提供通行密钥登录。请换一种方式登录。",
	"That passkey is not one this site knows, or its answer did not verify. Try again, or sign in another way.":                                                          "此网站不认识该通行密钥，或其应答未通过验证。请重试，或换一种方式登录。",
	"This sign-in took too long or was already used. Try again.":                                                                                                         "此次登录耗时过长或已被使用。请重试。",
	"This passkey looks copied, so it cannot sign in. Sign in another way, then remove it on your account page and register a new one.":                                  "该通行密钥疑似被复制，无法登录。请换一种方式登录，然后在账户页面删除它并注册新的通行密钥。",
	"That passkey is someone else's. Use your own, or enter your code.":                                                                                                  "该通行密钥属于他人。请使用你自己的，或输入验证码。",
	"Adding a passkey needs a sign-in made in the last 15 minutes with more than a password: your desktop or phone, a passkey, or your password and authenticator code.": "添加通行密钥需要在 15 分钟内用密码以外的方式登录过：电脑或手机确认、通行密钥，或密码加验证器验证码。",
	"passkey":                      "通行密钥",
	"Or use one of your passkeys:": "或使用你的通行密钥：",
	"Your password was right. Now confirm with one of your passkeys.": "密码正确。请用你的通行密钥确认。",
	"Use your passkey": "使用通行密钥",
	"This site takes no passwords. Sign in with a passkey, your desktop or your phone.":                                                                                                         "本网站不使用密码登录。请使用通行密钥、电脑或手机登录。",
	"Password sign-in is turned off here. Sign in with your desktop, your phone or a passkey.":                                                                                                  "此处已关闭密码登录。请使用电脑、手机或通行密钥登录。",
	"Your password is right, but this site also needs a passkey or an authenticator code, and your account has neither. Sign in with your desktop or phone, then add one on your account page.": "密码正确，但本网站还需要通行密钥或验证器验证码，而你的账户两者都没有。请用电脑或手机登录，然后在账户页面添加。",
	"Sign in on this phone to approve signing in to":                                                                                                                                            "在此手机上登录，以批准登录",
	"on the computer":                         "，电脑：",
	"Only go on if you are at that computer.": "只有当你就在那台电脑前时才继续。",
	"%s needs more than a password. Sign in again on this phone with a passkey, or with your password and authenticator code.": "%s 需要密码以外的验证。请在此手机上用通行密钥，或用密码加验证器验证码重新登录。",
	"Passkeys and second factors": "通行密钥与第二因素", "Passkey": "通行密钥", "Added": "添加时间", "Last used": "上次使用",
	"synced": "已同步", "this device only": "仅此设备", "Remove passkey %s": "删除通行密钥 %s", "Remove": "删除",
	"Authenticator app: set up.": "验证器应用：已设置。", "Authenticator app: none.": "验证器应用：无。", "Remove it": "删除",
	"Removed.":         "已删除。",
	"Password sign-in": "密码登录", "password sign-in": "密码登录", "as the server (%s)": "与服务器一致（%s）",
	"on": "允许单独使用密码", "second-factor": "密码后需第二因素", "off": "关闭",
	"Desktops must sign in with": "电脑登录须使用", "any desktop": "任何电脑均可", "a proven key": "经证明的密钥",
	"a key in a TPM or the system's key store": "TPM 或系统密钥库中的密钥", "a key in its TPM": "其 TPM 中的密钥",
	"Desktops must have an encrypted disk":                                                        "电脑须有加密磁盘",
	"Lowest OS versions of desktops, such as linux:6.1,windows:10.0.19045,darwin:14 (empty: any)": "电脑的最低系统版本，例如 linux:6.1,windows:10.0.19045,darwin:14（留空：不限）",
}
