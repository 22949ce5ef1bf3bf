package httpapi

func init() {
	WireTypes["EngineList"] = engineList{}
	WireTypes["FlavorList"] = flavorList{}
	WireTypes["FlavorInfo"] = FlavorInfo{}
}
