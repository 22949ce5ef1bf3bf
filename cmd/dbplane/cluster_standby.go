package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/dbplane/dbplane"
)

// standbyRows adds to `cluster show` a standby's source and replication
// (threads, lag, last error, when checked) and a source's standbys.
func standbyRows(w io.Writer, cl *dbplane.Cluster) {
	if r := cl.Replication; r != nil {
		row(w, "Standby of:", fmt.Sprintf("%s (%d)", orDash(r.Source.Name), r.Source.ID))
		lag := "-"
		if r.LagSeconds != nil {
			lag = fmt.Sprintf("%ds", *r.LagSeconds)
		}
		row(w, "Replication:", fmt.Sprintf("%s (io %s, sql %s, lag %s)", r.State, yesNo(r.IORunning), yesNo(r.SQLRunning), lag))
		if r.Position != "" {
			row(w, "GTID position:", r.Position)
		}
		if r.LastError != "" {
			row(w, "Last error:", r.LastError)
		}
		checked := "-"
		if r.CheckedAt != nil {
			checked = fmtTime(*r.CheckedAt)
		}
		row(w, "Checked:", checked)
	}
	if len(cl.Standbys) > 0 {
		var names []string
		for _, s := range cl.Standbys {
			names = append(names, fmt.Sprintf("%s (%d)", s.Name, s.ID))
		}
		row(w, "Standbys:", strings.Join(names, ", "))
	}
}
