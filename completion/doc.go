// Package completion answers the dashboard's AI completions (service
// endpoint #8, POST /outstatic/generate) from any OpenAI-compatible chat
// completions endpoint, so a self-hosted relay needs no Outstatic account for
// the editor's AI menu.
//
// The dashboard sends {prompt, option, command}; ParseRequest validates it
// strictly (bounded sizes, no unknown or repeated members), Messages turns it
// into our own system and user prompts for the option, and Streamer.Stream
// calls {base_url}/chat/completions with stream:true and re-encodes each
// chunk, as soon as it arrives, into the Vercel AI SDK UI message stream that
// AI SDK 6's useCompletion reads in the browser:
//
//	data: {"type":"start"}
//	data: {"type":"text-start","id":"txt-…"}
//	data: {"type":"text-delta","id":"txt-…","delta":"…"}   (one per piece)
//	data: {"type":"text-end","id":"txt-…"}
//	data: {"type":"finish"}
//	data: [DONE]
//
// Nothing is buffered: the user watches the text appear. A refusal before the
// stream starts (endpoint down, 401, 429, header timeout) is a non-2xx
// plain-text answer, because the dashboard shows a non-2xx body as the error;
// a failure once streaming has begun can only be told in-band, as
// {"type":"error","errorText":"…"} followed by [DONE]. Texts shown to users
// are fixed here: the endpoint's own error bodies, which may quote the
// account or the key, never reach the browser.
//
// Limiter is the per-project budget the relay applies before calling Stream.
package completion
