package main

import (
	"context"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/spf13/cobra"
)

// auditCmd returns `dbplane audit`.
func (c *cli) auditCmd() *cobra.Command {
	return groupCmd("audit", "Read the audit log of mutating calls", c.auditListCmd())
}

// auditService returns the client as the audit service.
func (c *cli) auditService(ctx context.Context) (dbplane.AuditService, error) {
	return serviceOf[dbplane.AuditService](ctx, c, "read the audit log")
}

// auditPage is the JSON form of a page of audit events.
type auditPage struct {
	Events []*dbplane.AuditEvent `json:"events"`
	Total  int                   `json:"total"`
	Offset int                   `json:"offset"`
	Limit  int                   `json:"limit"`
}

func (c *cli) auditListCmd() *cobra.Command {
	var user, project, action, result, since, until string
	var offset, limit int
	var f dbplane.AuditFilter
	// The times are read before connecting: a mistyped one is a usage error.
	filter := func() error {
		f = dbplane.AuditFilter{Offset: offset, Limit: limit}
		for _, p := range []struct {
			v   string
			dst **string
		}{{user, &f.User}, {action, &f.Action}, {result, &f.Result}} {
			if p.v != "" {
				v := p.v
				*p.dst = &v
			}
		}
		var err error
		if f.Since, err = c.parseWhen("--since", since); err != nil {
			return err
		}
		f.Until, err = c.parseWhen("--until", until)
		return err
	}
	cmd := newVerb(verb{Use: "list", Short: "List audit events, newest first", Check: filter,
		Example: `  dbplane audit list --since 1h --result unauthorized
  dbplane audit list --project payments --action cluster.delete`},
		c.auditService, func(ctx context.Context, s dbplane.AuditService, _ []string) error {
			var err error
			if f.ProjectID, err = c.projectFilter(ctx, project); err != nil {
				return err
			}
			events, total, err := s.FindAuditEvents(ctx, f)
			if err != nil {
				return err
			}
			return c.print(auditPage{Events: nonNil(events), Total: total, Offset: offset, Limit: pageLimit(limit)}, func() error {
				tw := newTable(c.stdout)
				row(tw, "TIME", "USER", "PROJECT", "ACTION", "TARGET", "RESULT", "STATUS", "SOURCE", "REQUEST_ID")
				for _, e := range events {
					row(tw, fmtTime(e.Time), orDash(e.User), orDash(e.Project), e.Action, orDash(e.Target),
						e.Result, itoa(e.Status), e.Source, e.RequestID)
				}
				tw.Flush()
				c.pageNote(offset, len(events), total)
				return nil
			})
		})
	fs := cmd.Flags()
	fs.StringVar(&user, "user", "", "only calls by this user name")
	fs.StringVar(&project, "project", "", "only calls on this project (id or name)")
	fs.StringVar(&action, "action", "", "only this action, e.g. cluster.create")
	fs.StringVar(&result, "result", "", "only this result: success or an error code such as unauthorized")
	fs.StringVar(&since, "since", "", "only calls after this time (RFC 3339) or this long ago (e.g. 2h)")
	fs.StringVar(&until, "until", "", "only calls before this time (RFC 3339) or this long ago")
	fs.IntVar(&offset, "offset", 0, "skip this many events")
	fs.IntVar(&limit, "limit", 0, "list at most this many events (default 50)")
	return cmd
}

// parseWhen reads a time flag: an RFC 3339 time, or a duration before now.
func (c *cli) parseWhen(flag, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		t := c.now().Add(-d)
		return &t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, usageErrorf("%s %q: want an RFC 3339 time or a duration such as 2h", flag, v)
	}
	return &t, nil
}
