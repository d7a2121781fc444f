package demo

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
)

// The sample repository the demo GitHub serves, and who signs in there.
const (
	RepoOwner = "demo"
	RepoName  = "sample-blog"
	// Login is the demo user: an owner of the project, so every page of
	// the dashboard and of the relay is open to them.
	Login = "octocat"
	Email = "octocat@example.com"
	// ImagePath is the sample image, where the stock dashboard's media
	// settings (config.json) put uploads.
	ImagePath = "public/images/demo-cover.png"
	// EditablePost is the post the demo invites the newcomer to edit.
	EditablePost = "outstatic/content/posts/edit-me.md"
)

// User is the demo GitHub's only account, whose picture is served at
// origin + AvatarPath.
func User(origin string) fakegithub.User {
	return fakegithub.User{Login: Login, Name: "Octocat (demo)", ID: 583231, AvatarURL: origin + AvatarPath,
		Emails: []fakegithub.Email{{Email: Email, Primary: true, Verified: true}}}
}

// SampleRepo is a small Outstatic content repository, laid out as the
// stock dashboard reads and writes one: outstatic/config.json (where media
// go), a collection "posts" with its schema (a cover image field), three
// posts (two published, one draft), an image used as a cover, and the
// media library's list of it. Every text in it says that it is a demo.
// It is public on the demo GitHub, so that anyone on the machine can read
// it without a token (curl <demo GitHub>/api/v3/repos/demo/sample-blog/contents/...);
// the relay reads and writes it with the signed-in user's token.
func SampleRepo() fakegithub.Repo {
	post := func(title, slug, status, date, cover, description, body string) string {
		return "---\ntitle: '" + title + "'\nstatus: '" + status + "'\nauthor:\n  name: 'Octocat (demo)'\n  picture: ''\n" +
			"slug: '" + slug + "'\ndescription: '" + description + "'\ncoverImage: '" + cover + "'\npublishedAt: '" + date + "'\n---\n\n" + body + "\n"
	}
	cover := "/images/demo-cover.png"
	return fakegithub.Repo{Owner: RepoOwner, Name: RepoName, DefaultBranch: "main", Files: map[string]string{
		"README.md": "# " + RepoName + "\n\nThe demo repository of caddy-outstatic's `bash scripts/demo.sh`: it lives in memory,\n" +
			"on a stand-in for GitHub on this machine, and starts afresh at every run.\n",
		"outstatic/config.json": "{\n  \"publicMediaPath\": \"images/\",\n  \"repoMediaPath\": \"public/images/\"\n}\n",
		"outstatic/content/collections.json": "[\n  {\n    \"title\": \"Posts\",\n    \"slug\": \"posts\",\n" +
			"    \"path\": \"outstatic/content/posts\",\n    \"parent\": null\n  }\n]\n",
		"outstatic/content/posts/schema.json": "{\n  \"title\": \"Posts\",\n  \"type\": \"object\",\n  \"properties\": {\n" +
			"    \"coverImage\": {\n      \"title\": \"Cover Image\",\n      \"fieldType\": \"Image\",\n      \"dataType\": \"string\"\n    }\n  }\n}\n",
		"outstatic/content/posts/welcome.md": post("Welcome to the demo", "welcome", "published", "2025-01-15T10:00:00.000Z", cover,
			"What this demo is.",
			"This is a demo repository, demo/sample-blog. It lives in memory on a stand-in for GitHub that runs on this machine: "+
				"nothing you do here leaves it, and it starts afresh every time the demo starts.\n\n"+
				"The dashboard you are in is the stock Outstatic dashboard, unmodified, with its Pro features: "+
				"the guard in front of the site and the native relay behind it are caddy-outstatic."),
		EditablePost: post("Edit me", "edit-me", "published", "2025-02-01T09:30:00.000Z", "",
			"A post to change and save.",
			"Change this text, then press Save: the commit lands in the demo repository."),
		"outstatic/content/posts/a-draft.md": post("A draft", "a-draft", "draft", "2025-03-01T08:00:00.000Z", "",
			"A post that is not published.", "A draft, not published yet."),
		ImagePath:                    string(sampleImage()),
		"outstatic/media/media.json": mediaLibrary(),
	}}
}

// mediaLibrary is outstatic/media/media.json as the dashboard writes it,
// listing the sample image.
func mediaLibrary() string {
	library := map[string]any{
		"commit":    "",
		"generated": "2025-01-15T10:00:00.000Z",
		"media": []map[string]any{{
			"__outstatic": map[string]any{"hash": "demo0cover", "commit": "", "path": ImagePath},
			"filename":    "demo-cover.png", "type": "image", "source": "images",
			"publishedAt": "2025-01-15T10:00:00.000Z", "alt": "The demo's cover image",
		}},
	}
	data, _ := json.MarshalIndent(library, "", "  ")
	return string(data) + "\n"
}

// The demo's two pictures, made here so that the repository ships no
// binary file.
var (
	dark, light = color.RGBA{R: 0x1f, G: 0x2a, B: 0x44, A: 0xff}, color.RGBA{R: 0x22, G: 0xb6, B: 0x38, A: 0xff}
	// avatarPNG is the demo user's picture: a light disc on dark.
	avatarPNG = string(picture(96, 96, func(x, y int) bool { return (x-48)*(x-48)+(y-48)*(y-48) < 30*30 }))
)

// sampleImage is the repository's image: diagonal stripes.
func sampleImage() []byte {
	return picture(480, 270, func(x, y int) bool { return (x+y)/30%2 == 0 })
}

// picture is a w×h PNG, light where isLight, else dark.
func picture(w, h int, isLight func(x, y int) bool) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := dark
			if isLight(x, y) {
				c = light
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}
