package cli

import (
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/scanfree/scanfree/certs"
)

func (a *app) certsCmd() *cobra.Command {
	var domain string
	cmd := &cobra.Command{Use: "certs", Short: "Manage the local CA and the TLS certificate for " + certs.DefaultDomain}
	cmd.PersistentFlags().StringVar(&domain, "domain", certs.DefaultDomain, "loopback domain web pages use")

	ensure := func() (certs.Result, error) {
		// The CLI reports what happened itself; keep the manager's logs to problems.
		log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		return certs.NewManager(a.stateDir, domain, time.Now, log).Ensure()
	}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create the CA and leaf in the state dir, or renew what is due; touches no trust store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := ensure()
			if err != nil {
				return err
			}
			return a.print(res, func(w io.Writer) {
				if res.CreatedCA {
					fmt.Fprintf(w, "created a local CA in %s (trust it with `scanfreed certs install`)\n", a.stateDir)
				}
				if res.IssuedLeaf {
					fmt.Fprintf(w, "issued a certificate for %s, valid until %s (%s)\n", domain, res.LeafExpires.Format(time.DateOnly), res.Reason)
				} else {
					fmt.Fprintf(w, "certificate for %s valid until %s; nothing to do\n", domain, res.LeafExpires.Format(time.DateOnly))
				}
			})
		},
	}

	var system string
	install := &cobra.Command{
		Use:   "install",
		Short: "Create the CA if needed and make browsers (and, where permitted, the system) trust it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			mode := certs.SystemMode(system)
			if mode != certs.SystemAuto && mode != certs.SystemYes && mode != certs.SystemNo {
				return fmt.Errorf("--system %q: use auto, yes or no", system)
			}
			res, err := ensure()
			if err != nil {
				return err
			}
			rep, err := certs.InstallTrust(a.stateDir, mode)
			if err != nil {
				return err
			}
			return a.print(rep, func(w io.Writer) {
				if res.CreatedCA {
					fmt.Fprintf(w, "created a local CA in %s\n", a.stateDir)
				}
				for _, s := range rep.Stores {
					fmt.Fprintf(w, "trusted in %s\n", s)
				}
				for _, s := range rep.Skipped {
					fmt.Fprintf(w, "not installed: %s\n", s)
				}
				if len(rep.Stores) == 0 {
					fmt.Fprintln(w, "the CA is trusted nowhere yet; see the lines above")
				}
			})
		},
	}
	install.Flags().StringVar(&system, "system", string(certs.SystemAuto), "system trust store: auto (only where no password is needed), yes or no")

	uninstall := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the CA from every store it was put in and delete its keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := certs.UninstallTrust(a.stateDir)
			if err != nil {
				return err
			}
			return a.print(rep, func(w io.Writer) {
				for _, s := range rep.Stores {
					fmt.Fprintf(w, "removed from %s\n", s)
				}
				fmt.Fprintf(w, "deleted the CA and certificate files in %s\n", a.stateDir)
			})
		},
	}

	status := &cobra.Command{
		Use:   "status",
		Short: "Show the certificate files, fingerprints, expiry and where the CA is trusted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := certStatus(a.stateDir)
			if err != nil {
				return err
			}
			return a.print(st, func(w io.Writer) {
				if !st.Exists {
					fmt.Fprintf(w, "no local CA in %s; run `scanfreed certs install`\n", a.stateDir)
					return
				}
				for _, f := range []certFile{st.Root, st.Leaf} {
					fmt.Fprintf(w, "%s\n  key:         %s\n", f.Cert, f.Key)
					if f.Error != "" {
						fmt.Fprintf(w, "  problem:     %s\n", f.Error)
						continue
					}
					fmt.Fprintf(w, "  subject:     %s\n  names:       %v\n  fingerprint: %s\n  expires:     %s\n",
						f.Subject, f.Names, f.Fingerprint, f.NotAfter.Format(time.DateOnly))
				}
				if len(st.TrustedIn) == 0 {
					fmt.Fprintln(w, "trusted in: nowhere (run `scanfreed certs install`)")
				}
				for _, s := range st.TrustedIn {
					fmt.Fprintf(w, "trusted in: %s\n", s)
				}
			})
		},
	}
	cmd.AddCommand(create, install, uninstall, status)
	return cmd
}

type certFile struct {
	Cert        string    `json:"cert"`
	Key         string    `json:"key"`
	Subject     string    `json:"subject,omitempty"`
	Fingerprint string    `json:"sha256,omitempty"`
	NotAfter    time.Time `json:"not_after,omitzero"`
	Names       []string  `json:"names,omitempty"`
	Error       string    `json:"error,omitempty"`
}

type certsStatus struct {
	Exists    bool          `json:"exists"`
	Root      certFile      `json:"root"`
	Leaf      certFile      `json:"leaf"`
	TrustedIn []certs.Store `json:"trusted_in"`
}

func certStatus(dir string) (certsStatus, error) {
	p := certs.PathsIn(dir)
	st := certsStatus{Root: certFile{Cert: p.RootCert, Key: p.RootKey}, Leaf: certFile{Cert: p.LeafCert, Key: p.LeafKey}, TrustedIn: []certs.Store{}}
	if _, err := os.Stat(p.RootCert); os.IsNotExist(err) {
		return st, nil
	}
	st.Exists = true
	ca, err := certs.LoadCA(dir)
	if err != nil {
		st.Root.Error = err.Error()
		return st, nil
	}
	fill := func(f *certFile, c *x509.Certificate, names []string) {
		f.Subject, f.Fingerprint, f.NotAfter, f.Names = c.Subject.CommonName, certs.Fingerprint(c), c.NotAfter, names
	}
	var rootNames []string
	rootNames = append(rootNames, ca.Cert.PermittedDNSDomains...)
	for _, n := range ca.Cert.PermittedIPRanges {
		rootNames = append(rootNames, n.String())
	}
	fill(&st.Root, ca.Cert, rootNames)
	if leaf, err := certs.ReadCertificate(p.LeafCert); err != nil {
		st.Leaf.Error = err.Error() + "; run `scanfreed certs create`"
	} else {
		var names []string
		names = append(names, leaf.DNSNames...)
		for _, ip := range leaf.IPAddresses {
			names = append(names, ip.String())
		}
		fill(&st.Leaf, leaf, names)
	}
	st.TrustedIn = append(st.TrustedIn, certs.TrustedIn(dir, ca.Cert)...)
	return st, nil
}
