package main

import (
	"context"
	"strconv"

	"github.com/dbplane/dbplane"
	"github.com/spf13/cobra"
)

// verb is the help and the arguments of one `<noun> <verb>` command;
// newVerb adds what every such command does, so each states only its call
// and its output.
type verb struct {
	Use, Short, Long, Example string
	// Args checks the positional arguments; nil takes none.
	Args cobra.PositionalArgs
	// IDs names the leading positional arguments that are numeric IDs
	// (those given, of an optional one). They are checked before the
	// service is opened, so that a mistyped ID is a usage error even when
	// the server cannot be reached.
	IDs []string
	// Check, if set, checks the flags before the service is opened, for
	// the same reason.
	Check func() error
}

// newVerb returns the command v describes: it checks the IDs, opens the
// service it needs with open, and runs run with it.
func newVerb[S any](v verb, open func(context.Context) (S, error), run func(ctx context.Context, s S, args []string) error) *cobra.Command {
	args := v.Args
	if args == nil {
		args = exactArgs(0)
	}
	return &cobra.Command{
		Use: v.Use, Short: v.Short, Long: v.Long, Example: v.Example, Args: args,
		RunE: func(cmd *cobra.Command, args []string) error {
			for i, what := range v.IDs[:min(len(v.IDs), len(args))] {
				if _, err := parseID(what, args[i]); err != nil {
					return err
				}
			}
			if v.Check != nil {
				if err := v.Check(); err != nil {
					return err
				}
			}
			s, err := open(cmd.Context())
			if err != nil {
				return err
			}
			return run(cmd.Context(), s, args)
		},
	}
}

// argID returns a positional ID argument that verb.IDs has checked.
func argID(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64) // checked by newVerb
	return n
}

// argIDs returns the positional ID arguments that verb.IDs has checked.
func argIDs(args []string) []int64 {
	ids := make([]int64, len(args))
	for i, a := range args {
		ids[i] = argID(a)
	}
	return ids
}

// serviceOf returns the client as the service S. The HTTP client offers
// every service; a client that does not is a programming error, which
// cannot says what it fails to do.
func serviceOf[S any](ctx context.Context, c *cli, cannot string) (S, error) {
	var none S
	a, err := c.client(ctx)
	if err != nil {
		return none, err
	}
	s, ok := a.(S)
	if !ok {
		return none, dbplane.Errorf(dbplane.KindInternal, "this client cannot %s", cannot)
	}
	return s, nil
}

// print writes v as JSON when the output is JSON, else runs text.
func (c *cli) print(v any, text func() error) error {
	if c.jsonOut() {
		return writeJSON(c.stdout, v)
	}
	return text()
}
