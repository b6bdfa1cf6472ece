package campaign

// Draw exposes draw to the external benchmarks.
var Draw = draw
