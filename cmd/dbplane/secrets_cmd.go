package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/dbplane/dbplane/pki"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/spf13/cobra"
)

// newSecretsCmd returns `dbplane secrets`: the rotation of the keys that
// encrypt secrets at rest. Its commands run where `serve` runs, on the same
// configuration, data directory and store.
func newSecretsCmd(cfg *Config) *cobra.Command {
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Make a new secret key primary and re-encrypt every stored secret with it",
		Long: `Generate a new secret key, write it as the primary (first) line of the key
file <data-dir>/secret.key, keeping the older keys after it, and re-encrypt
every secret of the store (cluster admin passwords, access keys' secrets, the
CA key) with it. Running control planes open secrets of the new key at once
and seal with it within a minute; older keys stay in the file until
'dbplane secrets retire' removes them.

With DBPLANE_SECRET_KEY set, the keys are not in a file: the command prints a
new key to prepend to the variable instead, then 'dbplane secrets reseal'
re-encrypts the secrets once the control planes run with it.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSecretsRotate(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	reseal := &cobra.Command{
		Use:   "reseal",
		Short: "Re-encrypt the stored secrets that an older key encrypted with the primary key",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withSecretStore(cmd.Context(), cfg, func(db *sqlstore.DB, kr *pki.Keyring) error {
				n, err := db.ResealSecrets(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "re-encrypted %d secret(s) with the primary key %s\n", n, kr.PrimaryKeyID())
				return nil
			})
		},
	}
	retire := &cobra.Command{
		Use:   "retire",
		Short: "Remove the keys no stored secret uses any more from the key file",
		Long: `Re-encrypt with the primary key every secret an older key still encrypts,
then remove the older keys from the key file <data-dir>/secret.key.

Run it after 'dbplane secrets rotate' once every control plane seals with
the new key: a minute after the rotation, or after restarting them. A
secret a control plane sealed with a retired key meanwhile is re-encrypted
once more before the command ends.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSecretsRetire(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
	for _, c := range []*cobra.Command{rotate, reseal, retire} {
		bindConfigFlags(c.Flags(), "data_dir", "store")
	}
	return groupCmd("secrets", "Rotate the keys that encrypt secrets at rest (run where serve runs)", rotate, reseal, retire)
}

// withSecretStore opens the store with the secret keys of cfg and runs f.
// Unlike serve, it never creates a key file: a missing one means the wrong
// data directory.
func withSecretStore(ctx context.Context, cfg *Config, f func(*sqlstore.DB, *pki.Keyring) error) error {
	if os.Getenv(pki.SecretKeyEnv) == "" {
		if _, err := os.Stat(pki.KeyFilePath(cfg.DataDir)); err != nil {
			return fmt.Errorf("there is no key file %s (is --data-dir the control plane's?): %w", pki.KeyFilePath(cfg.DataDir), err)
		}
	}
	kr, err := pki.LoadKeyring(os.Getenv, cfg.DataDir)
	if err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, cfg.StoreDSN(), sqlstore.WithSecretBox(kr))
	if err != nil {
		return err
	}
	defer db.Close()
	return f(db, kr)
}

// runSecretsRotate rotates the key file and re-seals the secrets, or
// explains how to rotate keys kept in the environment.
func runSecretsRotate(ctx context.Context, cfg *Config, stdout, stderr io.Writer) error {
	if v := os.Getenv(pki.SecretKeyEnv); v != "" {
		key, id, err := pki.NewSecretKey()
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, key)
		fmt.Fprintf(stderr, "%[1]s holds the secret keys, so no key file is changed. To rotate:\n"+
			"  1. prepend the new key %[2]s (printed above) to %[1]s, so it reads NEW,%[3]s\n"+
			"  2. restart every control plane with it\n"+
			"  3. run 'dbplane secrets reseal' with it, then drop the older keys from %[1]s and restart again\n",
			pki.SecretKeyEnv, id, keysPlaceholder(v))
		return usageErrorf("%s is set: the keys were not rotated", pki.SecretKeyEnv)
	}
	id, err := pki.RotateKeyFile(cfg.DataDir)
	if err != nil {
		return err
	}
	return withSecretStore(ctx, cfg, func(db *sqlstore.DB, kr *pki.Keyring) error {
		if kr.PrimaryKeyID() != id {
			return fmt.Errorf("the key file's primary key is %s, not the new key %s: was it rotated again meanwhile?", kr.PrimaryKeyID(), id)
		}
		n, err := db.ResealSecrets(ctx)
		if err != nil {
			return fmt.Errorf("the new key %s is primary, but re-encrypting failed (run 'dbplane secrets reseal' again): %w", id, err)
		}
		fmt.Fprintf(stdout, "new primary key %s; re-encrypted %d secret(s); keys in %s: %s\n",
			id, n, pki.KeyFilePath(cfg.DataDir), strings.Join(kr.KeyIDs(), ", "))
		return nil
	})
}

// keysPlaceholder shows how many keys a variable holds without showing
// them.
func keysPlaceholder(v string) string {
	n := 0
	for _, k := range strings.Split(v, ",") {
		if strings.TrimSpace(k) != "" {
			n++
		}
	}
	old := make([]string, n)
	for i := range old {
		old[i] = fmt.Sprintf("OLD%d", i+1)
	}
	return strings.Join(old, ",")
}

// runSecretsRetire re-seals what older keys encrypt, removes those keys
// from the key file, and re-seals once more what a control plane may have
// sealed with them in between (this process still holds them).
func runSecretsRetire(ctx context.Context, cfg *Config, stdout io.Writer) error {
	if os.Getenv(pki.SecretKeyEnv) != "" {
		return usageErrorf("%s holds the secret keys: run 'dbplane secrets reseal', then drop the older keys from it", pki.SecretKeyEnv)
	}
	return withSecretStore(ctx, cfg, func(db *sqlstore.DB, kr *pki.Keyring) error {
		n, err := db.ResealSecrets(ctx)
		if err != nil {
			return err
		}
		retired, err := pki.RetireKeys(cfg.DataDir, kr.PrimaryKeyID())
		if err != nil {
			return err
		}
		late, err := db.ResealSecrets(ctx)
		if err != nil {
			return fmt.Errorf("while re-encrypting secrets sealed during the retirement: %w", err)
		}
		if len(retired) == 0 {
			fmt.Fprintf(stdout, "only the primary key %s is in use; nothing to retire\n", kr.PrimaryKeyID())
			return nil
		}
		fmt.Fprintf(stdout, "re-encrypted %d secret(s); retired key(s) %s; the primary key %s remains\n",
			n+late, strings.Join(retired, ", "), kr.PrimaryKeyID())
		return nil
	})
}
