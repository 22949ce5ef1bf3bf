package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dbplane/dbplane"
)

// Exit codes, documented in docs/cli.md. Scripts depend on them: append only.
const (
	exitOK          = 0   // success; a watched task ended SUCCESSFUL
	exitError       = 1   // the API refused the request or could not be reached
	exitUsage       = 2   // bad command line or configuration
	exitTaskFailed  = 3   // a watched task ended FAILED
	exitInterrupted = 130 // SIGINT or SIGTERM; a watched task keeps running
)

// usageError marks a misuse of the command line or the configuration, as
// opposed to a request the API refused.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usageErrorf returns a usageError with a formatted message.
func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// taskFailedError reports that a watched task ended FAILED. The watcher has
// already printed why, so run prints nothing more.
type taskFailedError struct{ id int64 }

func (e taskFailedError) Error() string { return fmt.Sprintf("task %d FAILED", e.id) }

// exitCode prints err to w and returns the exit code it stands for.
// commandPath names the command that failed, for the usage hint.
func exitCode(w io.Writer, err error, commandPath string) int {
	var ue usageError
	var tf taskFailedError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &tf):
		return exitTaskFailed
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(w, "interrupted; tasks already started keep running on the server")
		return exitInterrupted
	case errors.As(err, &ue):
		printError(w, err)
		fmt.Fprintf(w, "Run '%s --help' for usage.\n", commandPath)
		return exitUsage
	}
	printError(w, err)
	if dbplane.ErrorKind(err) == dbplane.KindUnauthorized {
		fmt.Fprintln(w, "hint: run 'dbplane login', or set DBPLANE_TOKEN or DBPLANE_PASSWORD")
	}
	return exitError
}

// printError prints `error: <message>` and one line per field detail, in
// ASCII. The details are left out when there is one and the message already
// says it, as the API's single-field messages do.
func printError(w io.Writer, err error) {
	msg := asciiOnly(errorText(err))
	fmt.Fprintf(w, "error: %s\n", msg)
	fields := dbplane.ErrorFields(err)
	if len(fields) == 1 && strings.Contains(msg, fields[0].Field) && strings.Contains(msg, fields[0].Message) {
		return
	}
	for _, f := range fields {
		fmt.Fprintf(w, "  %s: %s\n", asciiOnly(f.Field), asciiOnly(f.Message))
	}
}

// errorText is the message to show for err: the client-safe message of an
// API error, or the whole error for local failures (an unreadable file),
// whose cause is the useful part. For internal and unavailable errors the
// cause is kept too: it says why the server could not be reached, or
// carries the request id to look for in the server's log.
func errorText(err error) string {
	var de *dbplane.Error
	if !errors.As(err, &de) || de.Message == "" {
		return err.Error()
	}
	switch de.Kind {
	case dbplane.KindOther, dbplane.KindInternal, dbplane.KindUnavailable:
		if de.Err != nil {
			return de.Message + ": " + de.Err.Error()
		}
	}
	return de.Message
}
