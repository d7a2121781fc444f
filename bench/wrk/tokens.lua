-- wrk script: each request POSTs the next token of the file TOKENS_FILE
-- (one a line) once, in the JSON body BODY_FORMAT (a string.format
-- pattern with one %s). Past the last token it sends the last one again,
-- which a relay refuses: bench/login.sh mints more than a run can spend
-- and reports any refusal.
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do
	tokens[#tokens + 1] = line
end
local format = os.getenv("BODY_FORMAT")
local headers = { ["Content-Type"] = "application/json" }
local i = 0
request = function()
	if i < #tokens then
		i = i + 1
	end
	return wrk.format("POST", nil, headers, string.format(format, tokens[i]))
end
