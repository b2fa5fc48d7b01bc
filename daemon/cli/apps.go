package cli

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/scanfree/scanfree/daemon/control"
)

// appReply prints a desktop app's reply: with --json the reply itself
// (errcode and all), else the text; a nonzero errcode fails the command.
func (a *app) appReply(r control.AppReply, err error, text func(w io.Writer)) error {
	var ae *control.AppError
	if err != nil && !errors.As(err, &ae) {
		return err
	}
	if a.asJSON {
		if perr := a.print(r, nil); perr != nil {
			return perr
		}
		if ae != nil {
			return fmt.Errorf("errcode %d: %s", ae.Code, ae.Msg)
		}
		return nil
	}
	if ae != nil {
		return ae
	}
	text(a.stdout)
	return nil
}

func (a *app) codeCmd() *cobra.Command {
	var appID string
	cmd := &cobra.Command{
		Use:   "code --appid APPID",
		Short: "Print a one-time login code for a desktop app (as wx.login); the app's server redeems it at /sns/jscode2session",
		Long: "Print a one-time login code for a desktop app, as wx.login gives a mini-program. The first time for an app\n" +
			"you are asked in the dialog; later codes are silent until you forget the app (`scanfreed apps forget`).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := a.client().AppCode(cmd.Context(), appID)
			return a.appReply(r, err, func(w io.Writer) { fmt.Fprintln(w, r.Code) })
		},
	}
	cmd.Flags().StringVar(&appID, "appid", "", "the app's appid (required)")
	cmd.MarkFlagRequired("appid")
	return cmd
}

func (a *app) userdataCmd() *cobra.Command {
	var appID string
	var phone bool
	cmd := &cobra.Command{
		Use:   "userdata --appid APPID [--phone]",
		Short: "Print your data for a desktop app, encrypted under its session_key (as wx.getUserInfo; with --phone as getPhoneNumber)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := a.client().AppUserData(cmd.Context(), appID, phone)
			return a.appReply(r, err, func(w io.Writer) { fmt.Fprintln(w, string(r.Data)) })
		},
	}
	cmd.Flags().StringVar(&appID, "appid", "", "the app's appid (required)")
	cmd.Flags().BoolVar(&phone, "phone", false, "also your phone number (asked for in the dialog the first time)")
	cmd.MarkFlagRequired("appid")
	return cmd
}

func (a *app) appsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "apps", Short: "List or forget the desktop apps you allowed to sign you in"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the desktop apps you allowed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			apps, err := a.client().Apps(cmd.Context())
			if err != nil {
				return err
			}
			return a.print(apps, func(w io.Writer) {
				if len(apps) == 0 {
					fmt.Fprintln(w, "no desktop app is allowed")
				}
				for _, ap := range apps {
					phone := ""
					if !ap.PhoneAt.IsZero() {
						phone = ", phone number"
					}
					fmt.Fprintf(w, "%s\t%s\tsince %s%s\n", ap.AppID, ap.AppName, ap.LoginAt.Local().Format(time.DateTime), phone)
				}
			})
		},
	}
	forget := &cobra.Command{
		Use:   "forget APPID",
		Short: "Withdraw your consent to an app (and to its reading your phone number): its next login asks again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.client().ForgetApp(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "forgot %s; its next login asks you again\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(list, forget)
	return cmd
}
