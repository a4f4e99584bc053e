//go:build tools

// Package tools pins the Pulumi YAML language host so `go mod tidy` keeps its dependency graph; scripts/toolchain.sh
// builds it with `go build github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml`.
package tools

import (
	_ "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"
)
