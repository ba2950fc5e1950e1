package transform_test

import (
	"fmt"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
)

func ExampleParseCond() {
	c, err := transform.ParseCond("total=gt.100")
	if err != nil {
		panic(err)
	}
	row := pipeline.Row{{Name: "total", Kind: pipeline.KindNumber, Value: []byte(`"12345678901234567890.5"`)}}
	fmt.Println(c, c.Match(row))

	_, err = transform.ParseCond("total=gtx.5")
	fmt.Println(err)
	// Output:
	// total=gt.100 true
	// filter "total=gtx.5": unknown operator "gtx": want one of eq, neq, lt, lte, gt, gte, in, is, like (optionally prefixed by not.)
}

func ExampleNewFilter() {
	_, err := transform.NewFilter(transform.FilterSpec{
		Tables: []string{"public.*"},
		Ops:    []string{"insert", "upsert"},
		Where:  []string{"status=neq.draft", "region=in.(eu,us"},
	})
	fmt.Println(err)
	// Output:
	// ops[1]: unknown op "upsert": want one of insert, update, delete, truncate, read, snapshot_started, snapshot_completed
	// where[1]: filter "region=in.(eu,us": in list "(eu,us" is not parenthesized: want in.(a,b,...)
}

func ExampleNewSubscription() {
	sub, err := transform.NewSubscription(transform.SubscriptionSpec{
		Table:  []string{"public.orders"},
		Filter: []string{"status=eq.paid"},
		Select: []string{"id,status"},
	})
	if err != nil {
		panic(err)
	}
	cat := pipeline.StaticCatalog{{Schema: "public", Table: "orders", Columns: []pipeline.ColumnInfo{{Name: "id"}, {Name: "total"}}}}
	fmt.Println(sub.Check(cat))
	// Output:
	// filter: unknown column "status" in public.orders; columns: id, total
	// select: unknown column "status" in public.orders; columns: id, total
}
