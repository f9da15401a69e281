package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestReasonsEval runs `parley reasons eval`: on the shipped examples it prints a line
// per reason and the macro-F1; on a new shop it says there is too little to evaluate.
func TestReasonsEval(t *testing.T) {
	data := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"reasons", "eval", "--shipped", "--folds", "3", "--data", data}, nil, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"3-fold cross-validation", "where_is_my_order", "refund_status", "other", "macro"} {
		if !strings.Contains(strings.ToLower(text), strings.ToLower(want)) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	err := run(context.Background(), []string{"reasons", "eval", "--data", data}, nil, &out)
	if err == nil || !strings.Contains(err.Error(), "too few to cross-validate") {
		t.Fatalf("eval of a shop without labelled tickets: %v", err)
	}
	if err := run(context.Background(), []string{"reasons"}, nil, &out); err == nil {
		t.Fatal("reasons without eval succeeded")
	}
}
