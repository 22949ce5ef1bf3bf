package dbplane

import (
	"fmt"
	"strings"
)

// CheckQuota returns KindQuotaExceeded, naming each quota ("quota.clusters",
// "quota.nodes", "quota.storage_gb") that c would exceed, if p cannot hold
// c on top of usage. Zero quotas are unlimited. The store checks it in the
// transaction that creates a cluster; a dry run checks it the same way, so
// both answer alike.
func (p *Project) CheckQuota(usage QuotaUsage, c *Cluster) error {
	storage := 0
	for _, n := range c.Nodes {
		storage += int(n.VolumeGB)
	}
	var fields []FieldError
	over := func(field string, limit, inUse, need int, unit string) {
		if limit > 0 && inUse+need > limit {
			fields = append(fields, FieldError{Field: field, Message: fmt.Sprintf(
				"project %q allows %d %s; %d are in use and this cluster needs %d", p.Name, limit, unit, inUse, need)})
		}
	}
	over("quota.clusters", p.Quota.Clusters, usage.Clusters, 1, "clusters")
	over("quota.nodes", p.Quota.Nodes, usage.Nodes, len(c.Nodes), "nodes")
	over("quota.storage_gb", p.Quota.StorageGB, usage.StorageGB, storage, "GB of storage")
	if len(fields) == 0 {
		return nil
	}
	msg := fields[0].Message
	for _, f := range fields[1:] {
		msg += "; and " + strings.TrimPrefix(f.Message, fmt.Sprintf("project %q ", p.Name))
	}
	return &Error{Kind: KindQuotaExceeded, Message: msg, Fields: fields}
}

// Unlimited reports whether q bounds nothing.
func (q Quota) Unlimited() bool {
	return q.Clusters <= 0 && q.Nodes <= 0 && q.StorageGB <= 0
}
