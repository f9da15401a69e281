package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"parley/reasons"
)

const reasonsUsage = "usage: parley reasons eval [--data DIR | --database URL] [--folds 5] [--shipped]"

// reasonsCmd runs `parley reasons eval`: precision, recall and F1 per reason of the
// classifier, k-fold cross-validated over the shop's labelled tickets (an agent's reason
// or one seeded from a tag), or over the labelled messages that ship with Parley with
// --shipped.
func reasonsCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "eval" {
		return errors.New(reasonsUsage)
	}
	fs, data := newFlags("reasons eval")
	folds := fs.Int("folds", 5, "how many folds to cross-validate over (2 to 20)")
	shipped := fs.Bool("shipped", false, "evaluate on the labelled messages that ship with Parley instead of the shop's tickets")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New(reasonsUsage)
	}
	if *folds < 2 || *folds > 20 {
		return errors.New("--folds must be 2 to 20")
	}
	var examples []reasons.Example
	var err error
	if *shipped {
		examples, err = reasons.EvalSet()
	} else {
		examples, err = shopExamples(ctx, data)
	}
	if err != nil {
		return err
	}
	if len(examples) < *folds*2 {
		return fmt.Errorf("%d labelled tickets: too few to cross-validate over %d folds; label more tickets, or try --shipped", len(examples), *folds)
	}
	eval, err := reasons.CrossValidate(examples, *folds, reasons.Options{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d labelled examples, %d-fold cross-validation\n\n", len(examples), *folds)
	return eval.WriteTable(stdout)
}

// shopExamples reads the shop's labelled tickets.
func shopExamples(ctx context.Context, data *storeFlags) ([]reasons.Example, error) {
	db, err := openStore(ctx, data, storeOptions{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	list, err := db.Reasons(ctx)
	if err != nil {
		return nil, err
	}
	slugs := map[int64]string{}
	for _, x := range list {
		slugs[x.ID] = x.Slug
	}
	var out []reasons.Example
	var after int64
	for {
		page, err := db.ReasonExamples(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, x := range page {
			out = append(out, reasons.Example{Text: x.Text, Label: slugs[x.ReasonID],
				Facts: reasons.Facts{OrderStatus: x.OrderStatus, OrderAgeDays: x.OrderAgeDays}})
			after = x.TicketID
		}
		if len(page) < 1000 {
			return out, nil
		}
	}
}
