// Package main is the Kepu load generator; see docs/benchmarks.md.
package main

import "fmt"

func main() { fmt.Println("loadtest: scenarios arrive with the load-test issue") }
