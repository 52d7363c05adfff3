//go:build race

package mediatest

// raceBuild: the race detector makes per-pixel Go code (scaling, colour
// conversion) several times slower than real time, so frame rates are not
// checked in a race build; packaging/test.sh checks them in a plain run.
const raceBuild = true
