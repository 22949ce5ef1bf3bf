package taskview

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// FormatTime formats t in UTC, or "-" for the zero time.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// FormatDuration rounds d to whole seconds, the resolution people read.
func FormatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return d.Round(time.Second).String()
}

// Elapsed is how long something that started at start ran: until end, or
// until now while it runs. "-" if it has not started.
func Elapsed(start, end *time.Time, now time.Time) string {
	if start == nil {
		return "-"
	}
	if end != nil {
		return FormatDuration(end.Sub(*start))
	}
	return FormatDuration(now.Sub(*start))
}

// row writes one tab-separated table row.
func row(w io.Writer, cells ...string) {
	fmt.Fprintln(w, strings.Join(cells, "\t"))
}

// orDash returns s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// itoa formats an ID.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// quote quotes s in ASCII, so names print safely on any terminal.
func quote(s string) string { return strconv.QuoteToASCII(s) }
