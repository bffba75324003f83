"""Environment names a user's stdio config may never set: they change what a program loads or runs.

A user picks only the env *values* of the keys an operator lists; these keys are refused even then,
because each of them can make an allowed command run code of the user's choosing (a preload
library, an interpreter option, a package index, a git hook, a shell startup file) or can undo
what the service sets itself (PATH, HOME, the trust store and the proxies). Names are compared
upper-cased: npm, for one, reads `npm_config_*` in any case.
"""

from __future__ import annotations

import re
from typing import Final

# A whole family: every name starting with one of these.
REFUSED_PREFIXES: Final = (
    "LD_",  # glibc loader: LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, …
    "DYLD_",  # macOS loader
    "GLIBC_TUNABLES",  # loader tunables (CVE-2023-4911)
    "MALLOC_",  # glibc allocator switches
    "PYTHON",  # PYTHONPATH, PYTHONSTARTUP, PYTHONHOME, PYTHONWARNINGS (imports), …
    "PERL5",  # PERL5LIB, PERL5OPT
    "PERLLIB",
    "PERL_",
    "RUBY",  # RUBYOPT, RUBYLIB
    "GEM_",  # GEM_PATH, GEM_HOME
    "BUNDLE_",  # BUNDLE_GEMFILE
    "NODE_",  # NODE_OPTIONS, NODE_PATH, NODE_EXTRA_CA_CERTS, NODE_TLS_REJECT_UNAUTHORIZED, …
    "NPM_CONFIG_",  # npm_config_registry, npm_config_script_shell, npm_config_node_options, …
    "YARN_",
    "PNPM_",
    "COREPACK_",
    "BUN_",
    "DENO_",
    "UV_",  # UV_INDEX_URL and friends: `uvx` would install from elsewhere
    "PIP_",
    "PIPX_",
    "CONDA",
    "JAVA_",  # JAVA_TOOL_OPTIONS, JAVA_HOME
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "MAVEN_",
    "GRADLE_",
    "DOTNET_",
    "COMPLUS_",
    "CORECLR_",  # CORECLR_PROFILER_PATH loads a library
    "CARGO_",
    "RUSTC_",
    "RUSTUP_",
    "LUA_",  # LUA_PATH, LUA_CPATH, LUA_INIT
    "GIT_",  # GIT_SSH_COMMAND, GIT_EXEC_PATH, GIT_CONFIG_*
    "OPENSSL_",  # OPENSSL_CONF, OPENSSL_ENGINES, OPENSSL_MODULES load code
    "BASH_FUNC_",  # exported shell functions
    "XDG_",  # where configuration is read from
)

# Single names.
REFUSED_NAMES: Final = frozenset(
    {
        "PATH",
        "HOME",
        "TMPDIR",
        "SHELL",
        "USER",
        "LOGNAME",
        "ENV",  # sh reads this file at start
        "BASH_ENV",
        "SHELLOPTS",
        "BASHOPTS",
        "PS4",
        "IFS",
        "CDPATH",
        "PROMPT_COMMAND",
        "CLASSPATH",
        "GCONV_PATH",
        "GETCONF_DIR",
        "HOSTALIASES",
        "LOCPATH",
        "NLSPATH",
        "RES_OPTIONS",
        "RESOLV_HOST_CONF",
        "TZDIR",
        "PHPRC",
        "PHP_INI_SCAN_DIR",
        "TCLLIBPATH",
        "EDITOR",
        "VISUAL",
        "PAGER",
        "BROWSER",
        "SSH_ASKPASS",
        "GOFLAGS",
        "GOPATH",
        "GOROOT",
        "GOPROXY",
        "GONOPROXY",
        "GONOSUMDB",
        "GOPRIVATE",
        "GOINSECURE",
        "GOSUMDB",
        "GOTOOLCHAIN",
        "GOENV",
        # The trust store and the proxies are the operator's (see PASSED_THROUGH).
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
    }
)

# The operator's trust store and proxies: passed on from the service's own environment.
PASSED_THROUGH: Final = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
)
# Of those, the ones that name files or directories a sandbox must show.
TRUST_STORE_PATHS: Final = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)

_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def refusal(name: str) -> str | None:
    """Why a user may never set the env name `name`, or None when it is an ordinary name."""
    if not _NAME.fullmatch(name):
        return "is not a valid environment variable name"
    upper = name.upper()
    if upper in REFUSED_NAMES or upper.startswith(REFUSED_PREFIXES):
        return "changes how programs load or what they run, so it is never taken from a config"
    return None


def valid_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None
