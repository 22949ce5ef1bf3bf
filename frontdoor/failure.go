package frontdoor

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/dbplane/dbplane"
)

// Failure is what a front door tells a caller about an error, before the
// door puts it in its own envelope. Status comes from the one table from
// error kind to HTTP status, dbplane.Kind.HTTPStatus, which lives in the
// root package because the agent's API and every client read it too.
type Failure struct {
	Status  int
	Kind    dbplane.Kind
	Message string
	// Fields are the field errors of err; an internal error has none, and
	// its message says nothing of the cause.
	Fields []dbplane.FieldError
}

// Fail describes err for a door's error writer: it sets Retry-After and
// the audit result (Annotate), and logs err once, at the level its kind
// deserves: an internal error at error, another 5xx at warning, a refusal
// at debug. The cause of an internal error is logged here and never sent.
func Fail(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) Failure {
	Annotate(w, r, err)
	kind := dbplane.ErrorKind(err)
	f := Failure{Status: kind.HTTPStatus(), Kind: kind, Message: dbplane.ErrorMessage(err)}
	if kind != dbplane.KindInternal {
		f.Fields = dbplane.ErrorFields(err)
	}
	ctx := r.Context()
	level, msg := failureLevel(ctx, f, err)
	if log := LoggerFrom(ctx, logger); log.Enabled(ctx, level) {
		log.LogAttrs(ctx, level, msg, slog.Int("status", f.Status), slog.String("error", err.Error()))
	}
	return f
}

// failureLevel returns the level and message Fail logs err with.
func failureLevel(ctx context.Context, f Failure, err error) (slog.Level, string) {
	switch {
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return slog.LevelDebug, "request canceled by client" // nobody will read this answer
	case f.Kind == dbplane.KindInternal:
		return slog.LevelError, "request failed"
	case f.Status >= 500:
		return slog.LevelWarn, "request failed"
	}
	return slog.LevelDebug, "request refused"
}
