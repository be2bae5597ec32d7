// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/policyaudit/policyaudit/internal/auditstore"
)

// export writes every stored link, in chain order, as JSON lines.
func export(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "export: name one database file")
		return 2
	}
	if _, err := os.Stat(args[0]); err != nil {
		fmt.Fprintln(stderr, "export:", err)
		return 2
	}
	st, err := auditstore.Open(ctx, args[0])
	if err != nil {
		fmt.Fprintln(stderr, "export:", err)
		return 2
	}
	defer st.Close()
	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	err = st.Walk(ctx, func(r auditstore.Row) error { return enc.Encode(r) })
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		fmt.Fprintln(stderr, "export:", err)
		return 2
	}
	return 0
}
