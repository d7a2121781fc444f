# Caddy with caddy-outstatic, built from this repository's own source.
#   docker build -t caddy-outstatic .
#   docker run -p 80:80 -p 443:443 -p 443:443/udp \
#     -v $PWD/Caddyfile:/etc/caddy/Caddyfile:ro -v caddy_data:/data -v caddy_config:/config \
#     -e OUTSTATIC_API_KEY caddy-outstatic
# Secrets reach Caddy only as environment variables (or files) read through
# {env.*} / {file.*} placeholders at run time: nothing secret is built in.
# examples/compose/ runs it next to a Next.js site and Redis.

# Base images are pinned by version. To pin the exact bytes as well, add
# each one's digest (FROM caddy:2.11.9@sha256:...), as
# `docker buildx imagetools inspect caddy:2.11.9` shows it.
FROM caddy:2.11.9-builder AS builder
# The module needs Go 1.26. The builder's Go comes from the golang image,
# which sets GOTOOLCHAIN=local (never fetch another Go); auto lets an older
# Go fetch the toolchain go.mod names.
ENV GOTOOLCHAIN=auto
COPY . /src
RUN xcaddy build v2.11.9 \
	--with github.com/caddy-outstatic/caddy-outstatic=/src \
	--output /usr/bin/caddy \
 && /usr/bin/caddy list-modules | grep -q '^http.handlers.outstatic$'

FROM caddy:2.11.9
COPY --from=builder /usr/bin/caddy /usr/bin/caddy

# A user of its own instead of root. Binding 80 and 443 takes the file
# capability the official image gives its own binary (lost by the COPY).
# /data and /config are where Caddy keeps certificates, the relay's store
# (storage caddy) and its autosaved config: XDG_DATA_HOME and XDG_CONFIG_HOME
# as the official image sets them. Their owner is set here, by a plain RUN
# (no BuildKit-only COPY flags or mounts), before VOLUME: a new named volume
# starts as a copy of the folder, owner included.
RUN setcap cap_net_bind_service=+ep /usr/bin/caddy \
 && addgroup -S -g 1000 caddy \
 && adduser -S -D -H -u 1000 -G caddy -h /data -s /sbin/nologin caddy \
 && mkdir -p /data/caddy /config/caddy /etc/caddy \
 && chown -R caddy:caddy /data /config
ENV XDG_CONFIG_HOME=/config \
	XDG_DATA_HOME=/data
VOLUME ["/data", "/config"]
USER caddy:caddy
WORKDIR /srv

# 80 and 443 for the sites (443/udp: HTTP/3); 2019 is the admin API
# (`caddy outstatic key ...`), which listens on localhost only unless the
# Caddyfile's `admin` option says otherwise.
EXPOSE 80 443 443/udp 2019
# Healthy once Caddy has loaded its config and answers on its admin API
# (localhost:2019 inside the container, Caddy's default). A Caddyfile that
# moves the admin API (the `admin` option) changes this address too; one
# with `admin off` needs another check (docker run --health-cmd, or
# compose's healthcheck).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
	CMD wget -q -O /dev/null http://localhost:2019/config/ || exit 1
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
