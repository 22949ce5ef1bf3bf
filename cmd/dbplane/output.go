package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
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

// fmtTime formats t in UTC, or "-" for the zero time.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// fmtTimePtr is fmtTime for optional times.
func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return fmtTime(*t)
}

// fmtDuration rounds d to whole seconds, the resolution people read.
func fmtDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return d.Round(time.Second).String()
}

// elapsed is how long something that started at start ran: until end, or
// until now while it runs. "-" if it has not started.
func elapsed(start, end *time.Time, now time.Time) string {
	if start == nil {
		return "-"
	}
	if end != nil {
		return fmtDuration(end.Sub(*start))
	}
	return fmtDuration(now.Sub(*start))
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
