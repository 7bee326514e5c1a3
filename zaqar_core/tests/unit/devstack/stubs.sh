# shellcheck shell=bash
#
# Recording stand-ins for the devstack functions devstack/settings and
# devstack/plugin.sh call, so that test_plugin.py runs the plugin's
# phases without devstack.
#
# Every stub appends one line to $STUB_LOG: its name and arguments,
# separated by the ASCII unit separator (0x1f). Those that devstack
# implements with visible effects keep the effect the tests check:
# iniset/iniget/inidelete really edit INI files; write_uwsgi_config writes
# what devstack writes; configure_keystone_authtoken_middleware and
# iniset_rpc_backend fill their sections; sudo runs its command (as the
# test's user).
#
# A command that is neither a stub nor on PATH is recorded as MISSING
# and ends the run with status 97: a devstack function the plugin calls
# and this library lacks must fail the test, not pass unnoticed.
#
# Environment: STUB_LOG (the log file), STUB_BIN_DIR (what
# get_python_exec_prefix answers), STUB_OS (ubuntu, fedora or another
# name; default ubuntu), STUB_CURL_STATUS (what curl "answers"; default
# 300), STUB_DEVSTACK_UWSGI_MODULES (False: write_uwsgi_config behaves as
# devstacks that predate module paths), and devstack's own globals
# (ENABLED_SERVICES, DATABASE_TYPE, API_WORKERS, SERVICE_PASSWORD...).

_STUB_SEP=$'\x1f'

# _stub_record NAME [ARG...] - one log line
function _stub_record {
    local IFS=$_STUB_SEP
    printf '%s\n' "$*" >> "$STUB_LOG"
}

function command_not_found_handle {
    _stub_record MISSING "$@"
    echo "stubs.sh: '$1' is neither a devstack stub nor a command" >&2
    # This runs in a child of the shell under test: stop that shell.
    kill -s USR1 "$$"
    return 127
}
trap 'echo "stubs.sh: a missing command stopped the run" >&2; exit 97' USR1


# INI files (devstack: inc/ini-config)
# ------------------------------------

# _stub_ini MODE FILE SECTION OPTION [VALUE] - MODE "set" writes VALUE
# (an option added at the end of its section, a section at the end of the
# file), "get" prints the value (trimmed; nothing when unset), "delete"
# removes the option. Pure bash: a fork costs more than the whole edit.
function _stub_ini {
    local mode=$1 file=$2 section=$3 option=$4 value=${5:-}
    local line key out="" inside=0 seen=0 done=0
    if [[ ! -f "$file" ]]; then
        if [[ "$mode" != "set" ]]; then
            return 0
        fi
        mkdir -p "${file%/*}"
        : > "$file"
    fi
    while IFS= read -r line || [[ -n "$line" ]]; do
        if [[ "$line" =~ ^\[(.*)\][[:space:]]*$ ]]; then
            if (( inside && ! done )) && [[ "$mode" == "set" ]]; then
                out+="$option = $value"$'\n'
                done=1
            fi
            inside=0
            if [[ "${BASH_REMATCH[1]}" == "$section" ]]; then
                inside=1
                seen=1
            fi
            out+="$line"$'\n'
            continue
        fi
        if (( inside && ! done )) && [[ "$line" == *=* ]]; then
            key=${line%%=*}
            key=${key%"${key##*[![:space:]]}"}
            key=${key#"${key%%[![:space:]]*}"}
            if [[ "$key" == "$option" ]]; then
                case "$mode" in
                    get)
                        value=${line#*=}
                        value=${value#"${value%%[![:space:]]*}"}
                        value=${value%"${value##*[![:space:]]}"}
                        printf '%s\n' "$value"
                        return 0
                        ;;
                    set)
                        out+="$option = $value"$'\n'
                        done=1
                        ;;
                esac
                # delete: the line goes
                continue
            fi
        fi
        out+="$line"$'\n'
    done < "$file"
    case "$mode" in
        get)
            return 0
            ;;
        set)
            if (( ! done )); then
                if (( ! seen )); then
                    out+="[$section]"$'\n'
                fi
                out+="$option = $value"$'\n'
            fi
            ;;
    esac
    printf '%s' "$out" > "$file"
}

# _stub_iniset FILE SECTION OPTION VALUE - sets an option, not recorded
function _stub_iniset {
    _stub_ini set "$@"
}

# iniset [-sudo] FILE SECTION OPTION VALUE
function iniset {
    _stub_record iniset "$@"
    if [[ "$1" == "-sudo" ]]; then
        shift
    fi
    _stub_ini set "$@"
}

# iniget FILE SECTION OPTION
function iniget {
    _stub_record iniget "$@"
    _stub_ini get "$@"
}

# inidelete [-sudo] FILE SECTION OPTION
function inidelete {
    _stub_record inidelete "$@"
    if [[ "$1" == "-sudo" ]]; then
        shift
    fi
    _stub_ini delete "$@"
}


# Services (devstack: functions-common)
# -------------------------------------

# is_service_enabled SERVICE [SERVICE...] - any of them in ENABLED_SERVICES
function is_service_enabled {
    _stub_record is_service_enabled "$@"
    local service
    for service in "$@"; do
        if [[ ",$ENABLED_SERVICES," == *",$service,"* ]]; then
            return 0
        fi
    done
    return 1
}

function enable_service {
    _stub_record enable_service "$@"
    local service
    for service in "$@"; do
        if [[ ",$ENABLED_SERVICES," != *",$service,"* ]]; then
            ENABLED_SERVICES="${ENABLED_SERVICES:+$ENABLED_SERVICES,}$service"
        fi
    done
}

function run_process {
    _stub_record run_process "$@"
}

function stop_process {
    _stub_record stop_process "$@"
}

function start_service {
    _stub_record start_service "$@"
}


# Messages and failures
# ---------------------

function echo_summary {
    _stub_record echo_summary "$@"
}

function warn {
    _stub_record warn "$@"
    echo "[WARNING] $*" >&2
}

function die {
    _stub_record die "$@"
    echo "[ERROR] $*" >&2
    exit 1
}

function exit_distro_not_supported {
    _stub_record exit_distro_not_supported "$@"
    echo "[ERROR] distro not supported: $*" >&2
    exit 1
}


# Packages and the distribution
# -----------------------------

function is_ubuntu {
    _stub_record is_ubuntu
    [[ "${STUB_OS:-ubuntu}" == "ubuntu" ]]
}

function is_fedora {
    _stub_record is_fedora
    [[ "${STUB_OS:-ubuntu}" == "fedora" ]]
}

function install_package {
    _stub_record install_package "$@"
}

function setup_develop {
    _stub_record setup_develop "$@"
}

function pip_install_gr {
    _stub_record pip_install_gr "$@"
}

function get_python_exec_prefix {
    _stub_record get_python_exec_prefix
    echo "$STUB_BIN_DIR"
}

# generate_hex_string BYTES - fixed, so that tests can expect it
function generate_hex_string {
    _stub_record generate_hex_string "$@"
    local hex=""
    local i
    for ((i = 0; i < $1; i++)); do
        hex+="5a"
    done
    echo "$hex"
}

# The test's own sudo: records, then runs the command as the test user.
function sudo {
    _stub_record sudo "$@"
    "$@"
}

# Records a curl call twice: as curl_argv, its command line as given (what
# any local user could read), and as curl, with what it read from files
# and stdin spelt out: headers from -H @FILE as -H arguments, a body from
# --data-binary @- as -d.
function _stub_curl_record {
    _stub_record curl_argv "$@"
    local -a seen=()
    local line
    while (( $# )); do
        if [[ "$1" == -H && "$2" == @* ]]; then
            while IFS= read -r line; do
                seen+=(-H "$line")
            done < "${2#@}"
            shift 2
        elif [[ "$1" == --data-binary && "$2" == @- ]]; then
            seen+=(-d "$(cat)")
            shift 2
        else
            seen+=("$1")
            shift
        fi
    done
    _stub_record curl "${seen[@]}"
}

function curl {
    _stub_curl_record "$@"
    # The WebSocket server answers a plain GET with 426.
    if [[ "${!#}" == *":${ZAQAR_WEBSOCKET_PORT:-9000}/" ]]; then
        printf '%s' "${STUB_WEBSOCKET_STATUS:-426}"
    else
        printf '%s' "${STUB_CURL_STATUS:-300}"
    fi
}


# Configuration helpers
# ---------------------

function setup_logging {
    _stub_record setup_logging "$@"
}

# configure_keystone_authtoken_middleware CONF USER [SECTION]
function configure_keystone_authtoken_middleware {
    _stub_record configure_keystone_authtoken_middleware "$@"
    local conf=$1 user=$2 section=${3:-keystone_authtoken}
    _stub_iniset "$conf" "$section" auth_type password
    _stub_iniset "$conf" "$section" interface public
    _stub_iniset "$conf" "$section" auth_url "$KEYSTONE_SERVICE_URI"
    _stub_iniset "$conf" "$section" www_authenticate_uri "$KEYSTONE_SERVICE_URI"
    _stub_iniset "$conf" "$section" username "$user"
    _stub_iniset "$conf" "$section" password "$SERVICE_PASSWORD"
    _stub_iniset "$conf" "$section" user_domain_name "$SERVICE_DOMAIN_NAME"
    _stub_iniset "$conf" "$section" project_name service
    _stub_iniset "$conf" "$section" project_domain_name "$SERVICE_DOMAIN_NAME"
}

# iniset_rpc_backend PACKAGE CONF [SECTION] - transport_url when rabbit runs
function iniset_rpc_backend {
    _stub_record iniset_rpc_backend "$@"
    if [[ ",$ENABLED_SERVICES," == *",rabbit,"* ]]; then
        _stub_iniset "$2" "${3:-DEFAULT}" transport_url \
            "rabbit://stackrabbit:secretrabbit@127.0.0.1:5672/"
    fi
}

# write_uwsgi_config CONF WSGI URL HTTP NAME - as devstack's lib/apache
function write_uwsgi_config {
    _stub_record write_uwsgi_config "$@"
    local conf=$1 wsgi=$2 http=$4 name=${5:-}
    rm -f "$conf"
    if [[ "${STUB_DEVSTACK_UWSGI_MODULES:-True}" == "True" &&
          "$wsgi" =~ ^[a-zA-Z0-9_.]+:[a-zA-Z0-9_]+$ ]]; then
        _stub_iniset "$conf" uwsgi module "$wsgi"
    else
        _stub_iniset "$conf" uwsgi wsgi-file "$wsgi"
    fi
    _stub_iniset "$conf" uwsgi processes "$API_WORKERS"
    _stub_iniset "$conf" uwsgi master true
    _stub_iniset "$conf" uwsgi die-on-term true
    _stub_iniset "$conf" uwsgi exit-on-reload true
    _stub_iniset "$conf" uwsgi enable-threads true
    _stub_iniset "$conf" uwsgi plugins http,python3
    _stub_iniset "$conf" uwsgi thunder-lock true
    _stub_iniset "$conf" uwsgi buffer-size 65535
    _stub_iniset "$conf" uwsgi add-header "Connection: close"
    _stub_iniset "$conf" uwsgi lazy-apps true
    if [[ -n "$http" ]]; then
        _stub_iniset "$conf" uwsgi http "$http"
    else
        _stub_iniset "$conf" uwsgi socket "/var/run/uwsgi/$name.socket"
        _stub_iniset "$conf" uwsgi chmod-socket 666
    fi
}

# remove_uwsgi_config CONF NAME
function remove_uwsgi_config {
    _stub_record remove_uwsgi_config "$@"
    rm -f "$1"
}


# Keystone and databases
# ----------------------

function create_service_user {
    _stub_record create_service_user "$@"
}

function get_or_create_service {
    _stub_record get_or_create_service "$@"
    echo "service-id-$1"
}

function get_or_create_endpoint {
    _stub_record get_or_create_endpoint "$@"
    echo "endpoint-id-$1"
}

function recreate_database {
    _stub_record recreate_database "$@"
}

# database_connection_url DB - as devstack's lib/databases/*
function database_connection_url {
    _stub_record database_connection_url "$@"
    case "${DATABASE_TYPE:-}" in
        mysql)
            echo "mysql+pymysql://root:secretdb@127.0.0.1/$1?charset=utf8"
            ;;
        postgresql)
            echo "postgresql://root:secretdb@127.0.0.1/$1?client_encoding=utf8"
            ;;
        *)
            echo "stubs.sh: no database server (DATABASE_TYPE)" >&2
            return 1
            ;;
    esac
}
