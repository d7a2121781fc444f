package scan_test

import (
	"context"
	"fmt"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/scan"
)

func ExampleScan() {
	repo := scan.MapTree{
		"content/posts/hello.md": "---\ntitle: Hello\ndate: 2024-01-05\ntags: [intro]\n---\nHi.\n",
		"content/posts/again.md": "---\ntitle: Again\ndate: 2024-02-01\n---\nMore.\n",
		"content/about.md":       "---\ntitle: About\n---\nMe.\n",
	}
	// The protocol gives the scan 30 seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := scan.Scan(ctx, repo, scan.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range res.Suggestions {
		fmt.Println("collection", s.Slug, s.Path, s.DocCount)
		for _, f := range s.Fields {
			fmt.Println("  ", f.Name, f.FieldType, f.Required)
		}
	}
	for _, s := range res.Singletons {
		fmt.Println("singleton", s.Slug, s.SampleFiles)
	}
	// Output:
	// collection posts content/posts 2
	//    title String true
	//    date Date true
	//    tags Array false
	// singleton about [content/about.md]
}
