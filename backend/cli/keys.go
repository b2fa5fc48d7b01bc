package cli

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/scanfree/scanfree/backend/keys"
	"github.com/scanfree/scanfree/backend/storage"
)

// keysCmd manages the OpenID Connect signing keys.
func (a *app) keysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Rotate and list the OpenID Connect id_token signing keys"}
	var idTokenTTL time.Duration
	cmd.PersistentFlags().DurationVar(&idTokenTTL, "id-token-ttl", time.Hour, "the id_token lifetime for keys that predate the servers recording theirs: the servers' own lifetime, kept with the keys, wins when longer")
	ring := func(st storage.Storage) (*keys.Ring, error) {
		k, err := a.dataKey()
		if err != nil {
			return nil, fmt.Errorf("--data-key-file: %w", err)
		}
		if k == nil {
			return nil, errors.New("set --data-key-file to the key file the servers use")
		}
		return keys.New(st, k, idTokenTTL, nil), nil
	}
	var signAfter time.Duration
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Make new signing keys: published now, signing after --sign-after; the old ones stay published until their tokens expire",
		Args:  cobra.NoArgs,
		RunE: a.withExistingStore(func(cmd *cobra.Command, _ []string, st storage.Storage) error {
			r, err := ring(st)
			if err != nil {
				return err
			}
			made, err := r.Rotate(cmd.Context(), signAfter)
			if err != nil {
				return fmt.Errorf("rotate keys: %w", err)
			}
			pruned, err := r.Prune(cmd.Context())
			if err != nil {
				return fmt.Errorf("prune keys: %w", err)
			}
			return a.print(made, func(w io.Writer) {
				for _, k := range made {
					fmt.Fprintf(w, "%s\t%s\tpublished now, signs from %s\n", k.KID, k.Alg, k.SignFrom.Local().Format(time.DateTime))
				}
				if pruned > 0 {
					fmt.Fprintf(w, "deleted %d keys no id_token needs any more\n", pruned)
				}
			})
		}),
	}
	rotate.Flags().DurationVar(&signAfter, "sign-after", 10*time.Minute,
		"how long the new keys are only published before they sign: longer than relying parties cache the JWKS (5 min)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the signing keys and their state",
		Args:  cobra.NoArgs,
		RunE: a.withExistingStore(func(cmd *cobra.Command, _ []string, st storage.Storage) error {
			r, err := ring(st)
			if err != nil {
				return err
			}
			states, err := r.List(cmd.Context())
			if err != nil {
				return err
			}
			type keyJSON struct {
				KID      string    `json:"kid"`
				Alg      string    `json:"alg"`
				Status   string    `json:"status"`
				Created  time.Time `json:"created_at"`
				SignFrom time.Time `json:"sign_from"`
				Until    time.Time `json:"published_until,omitzero"`
			}
			out := []keyJSON{}
			for _, k := range states {
				out = append(out, keyJSON{k.KID, k.Alg, k.Status, k.CreatedAt, k.SignFrom, k.Until})
			}
			return a.print(out, func(w io.Writer) {
				fmt.Fprintln(w, "KID\tALG\tSTATUS\tSIGNS FROM\tPUBLISHED UNTIL")
				for _, k := range out {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", k.KID, k.Alg, k.Status, when(k.SignFrom), when(k.Until))
				}
			})
		}),
	}
	cmd.AddCommand(rotate, list)
	return cmd
}
