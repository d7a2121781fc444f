-- wrk script: each request carries the next key of the file KEYS_FILE
-- (one a line) as its Bearer key, round robin. bench/relay.sh runs every
-- config of a table with it or without it, never mixed, so that wrk's own
-- cost is the same on both sides of a ratio.
local keys = {}
for line in io.lines(os.getenv("KEYS_FILE")) do
	keys[#keys + 1] = "Bearer " .. line
end
local i = 0
request = function()
	i = i % #keys + 1
	return wrk.format(nil, nil, { ["Authorization"] = keys[i] })
end
