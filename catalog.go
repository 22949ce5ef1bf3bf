package dbplane

// EngineVersion is an entry of the engine catalog: a version dbplane can
// install, with the OS packages it needs and the topologies it supports.
type EngineVersion struct {
	Engine     string   `json:"engine"`
	Version    string   `json:"version"`
	Packages   []string `json:"packages"`
	Topologies []string `json:"topologies"`
	Default    bool     `json:"default,omitempty"`
}

// Flavor is an entry of the flavor catalog: a compute size.
type Flavor struct {
	Code     string `json:"code"` // e.g. dbp.c2.m4
	VCPUs    int    `json:"vcpus"`
	MemoryGB int    `json:"memory_gb"`
}

// Catalog lists what can be created: engine versions and flavors.
type Catalog struct {
	Engines []EngineVersion `json:"engines"`
	Flavors []Flavor        `json:"flavors"`
}
