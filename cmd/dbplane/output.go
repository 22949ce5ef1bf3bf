package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dbplane/dbplane/cmd/dbplane/internal/taskview"
)

// jsonOut reports whether results are printed as JSON.
func (c *cli) jsonOut() bool { return c.cfg.Output == outputJSON }

// infof prints an informational message to stderr, keeping stdout for
// results that scripts parse.
func (c *cli) infof(format string, args ...any) {
	fmt.Fprintf(c.stderr, format+"\n", args...)
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// newTable returns a writer that aligns tab-separated columns. Call Flush.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// row writes one tab-separated table row.
func row(w io.Writer, cells ...string) {
	fmt.Fprintln(w, strings.Join(cells, "\t"))
}

// The renderer's text primitives format the CLI's tables too, so that a
// task reads the same in `task show` as in a live watch.
var (
	fmtTime     = taskview.FormatTime
	fmtDuration = taskview.FormatDuration
	elapsed     = taskview.Elapsed
	asciiOnly   = taskview.ASCIIOnly
	withOp      = taskview.WithOp
)

// fmtTimePtr is fmtTime for optional times.
func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return fmtTime(*t)
}

// orDash returns s, or "-" when it is empty, so table columns stay aligned.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// joinIDs formats ids as a comma-separated list, or "-".
func joinIDs(ids []int64) string {
	if len(ids) == 0 {
		return "-"
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

// itoa formats integers for table cells.
func itoa[T ~int | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }

// quote quotes s in ASCII, so names print safely on any terminal.
func quote(s string) string { return strconv.QuoteToASCII(s) }

// parseID parses a positive numeric ID argument named what.
func parseID(what, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usageErrorf("%s must be a positive integer, got %q", what, s)
	}
	return id, nil
}

// nonNil returns s, or an empty slice for nil, so JSON shows [] not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
