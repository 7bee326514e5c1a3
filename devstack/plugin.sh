# shellcheck shell=bash
#
# devstack plugin for zaqar-core, the OpenStack messaging service (the
# Zaqar v2 API). devstack sources this file with the phase as arguments
# ("stack install", "stack post-config", "stack extra", "stack
# test-config", "unstack", "clean"), after devstack/settings.
#
# Services:
#   zaqar-server     the REST API: zaqar_core.wsgi under uWSGI (enabled
#                    by settings)
#   zaqar-websocket  the API over WebSocket: zaqar-server with [drivers]
#                    transport = websocket, and its messaging-websocket
#                    catalog entry
#   zaqar-bridge     zaqar-bridge: OpenStack notifications into queues
#
# With ZAQAR_POOLING=True, zaqar.conf says pooling = True and "stack
# extra" registers one pool per ZAQAR_POOL_BACKENDS entry once
# zaqar-server answers.

_XTRACE_ZAQAR=$(set +o | grep xtrace)
set +o xtrace


# Helpers
# -------

# True when Apache fronts the API at /messaging (devstack's uwsgi mode).
function zaqar_behind_apache {
    [[ "$ZAQAR_WSGI_MODE" == "uwsgi" ]]
}

# The public URL of the REST API.
function zaqar_api_url {
    if zaqar_behind_apache; then
        echo "$ZAQAR_SERVICE_PROTOCOL://$ZAQAR_SERVICE_HOST/messaging"
    else
        # uWSGI speaks plain HTTP: no TLS proxy on this port.
        echo "http://$ZAQAR_SERVICE_HOST:$ZAQAR_SERVICE_PORT"
    fi
}

# The URL of the messaging-websocket catalog entry. zaqar-server speaks
# plain ws://: wss:// needs a TLS proxy in front of it, which devstack's
# tls-proxy (no WebSocket upgrade) is not.
function zaqar_websocket_url {
    echo "ws://$ZAQAR_SERVICE_HOST:$ZAQAR_WEBSOCKET_PORT"
}

# True for the backends whose schema zaqar-manage creates.
function zaqar_backend_is_sql {
    [[ "$ZAQAR_BACKEND" != "redis" ]]
}

# Dies unless ZAQAR_BACKEND is one this plugin deploys, on a devstack
# that can host it.
function check_zaqar_backend {
    case "$ZAQAR_BACKEND" in
        sqlite|redis)
            ;;
        postgresql|mysql)
            # recreate_database and database_connection_url work on
            # devstack's one database server.
            if [[ "${DATABASE_TYPE:-}" != "$ZAQAR_BACKEND" ]]; then
                die $LINENO "ZAQAR_BACKEND=$ZAQAR_BACKEND needs devstack's" \
                    "$ZAQAR_BACKEND service (DATABASE_TYPE is" \
                    "'${DATABASE_TYPE:-}'): enable_service $ZAQAR_BACKEND"
            fi
            ;;
        *)
            die $LINENO "ZAQAR_BACKEND=$ZAQAR_BACKEND is not one of sqlite," \
                "redis, postgresql, mysql"
            ;;
    esac
}

# zaqar_sql_server_uri BACKEND DATABASE - the URI of DATABASE on
# devstack's postgresql or mysql server
function zaqar_sql_server_uri {
    local url
    case "$1" in
        postgresql)
            # devstack's URL names no driver; say psycopg2 (a requirement
            # of zaqar-core), keeping devstack's host and query.
            url=$(database_connection_url "$2")
            echo "postgresql+psycopg2://${url#*://}"
            ;;
        mysql)
            # Already mysql+pymysql://.
            database_connection_url "$2"
            ;;
    esac
}

# The URI of both stores (messages and the queue catalogue: one store).
function zaqar_store_uri {
    case "$ZAQAR_BACKEND" in
        sqlite)
            echo "sqlite:///$ZAQAR_STATE_PATH/zaqar.sqlite"
            ;;
        redis)
            echo "$ZAQAR_REDIS_URI"
            ;;
        postgresql|mysql)
            zaqar_sql_server_uri "$ZAQAR_BACKEND" zaqar
            ;;
    esac
}

# True when ZAQAR_POOLING asks for pools.
function zaqar_pooling {
    [[ "$ZAQAR_POOLING" == "True" ]]
}

# True when a pool or the stores need the local Redis.
function zaqar_needs_redis {
    if [[ "$ZAQAR_INSTALL_REDIS" != "True" ]]; then
        return 1
    fi
    [[ "$ZAQAR_BACKEND" == "redis" ]] ||
        { zaqar_pooling && [[ " $ZAQAR_POOL_BACKENDS " == *" redis "* ]]; }
}

# Dies unless pooling can be turned on as ZAQAR_POOL_BACKENDS asks, on
# this devstack.
function check_zaqar_pools {
    local backend
    if [[ "$ZAQAR_ADMIN_MODE" != "True" ]]; then
        die $LINENO "ZAQAR_POOLING=True needs ZAQAR_ADMIN_MODE=True:" \
            "/v2/pools exists only with [DEFAULT] admin_mode"
    fi
    if [[ -z "${ZAQAR_POOL_BACKENDS// /}" ]]; then
        die $LINENO "ZAQAR_POOLING=True needs at least one backend in" \
            "ZAQAR_POOL_BACKENDS"
    fi
    for backend in $ZAQAR_POOL_BACKENDS; do
        case "$backend" in
            sqlite)
                ;;
            redis)
                # A pool is database N of that server; a cluster has
                # only database 0.
                if [[ "$ZAQAR_REDIS_URI" == redis+cluster://* ]]; then
                    die $LINENO "ZAQAR_POOL_BACKENDS: a redis pool uses" \
                        "database N of ZAQAR_REDIS_URI, which a" \
                        "redis+cluster:// URI does not have"
                fi
                ;;
            postgresql|mysql)
                if [[ "${DATABASE_TYPE:-}" != "$backend" ]]; then
                    die $LINENO "ZAQAR_POOL_BACKENDS: a $backend pool" \
                        "needs devstack's $backend service (DATABASE_TYPE" \
                        "is '${DATABASE_TYPE:-}'): enable_service $backend"
                fi
                ;;
            *)
                die $LINENO "ZAQAR_POOL_BACKENDS: '$backend' is not one of" \
                    "sqlite, redis, postgresql, mysql"
                ;;
        esac
    done
}

# zaqar_pool_uri N BACKEND - the URI of poolN, on BACKEND: its own SQLite
# file, Redis database or SQL database.
function zaqar_pool_uri {
    local number=$1 backend=$2
    case "$backend" in
        sqlite)
            echo "sqlite:///$ZAQAR_STATE_PATH/pool$number.sqlite"
            ;;
        redis)
            # dbid wins over a /N path or an earlier dbid.
            if [[ "$ZAQAR_REDIS_URI" == *\?* ]]; then
                echo "$ZAQAR_REDIS_URI&dbid=$number"
            else
                echo "$ZAQAR_REDIS_URI?dbid=$number"
            fi
            ;;
        postgresql|mysql)
            zaqar_sql_server_uri "$backend" "zaqar_pool$number"
            ;;
    esac
}

# The [drivers] name of the backend's stores.
function zaqar_store_driver {
    if zaqar_backend_is_sql; then
        echo sqlalchemy
    else
        echo redis
    fi
}


# Install
# -------

function install_zaqar_redis {
    local service
    if is_ubuntu; then
        install_package redis-server
        service=redis-server
    elif is_fedora; then
        install_package redis
        service=redis
    else
        exit_distro_not_supported "redis installation"
    fi
    start_service "$service"
}

# install_zaqar() - zaqar-core (with its tempest plugin), the client
function install_zaqar {
    check_zaqar_backend
    if zaqar_pooling; then
        check_zaqar_pools
    fi
    setup_develop "$ZAQAR_DIR"
    # "openstack messaging ..." commands.
    pip_install_gr python-zaqarclient

    if zaqar_needs_redis; then
        install_zaqar_redis
    fi

    if is_service_enabled tempest; then
        # zaqar_tempest_plugin ships in this repository: setup_develop
        # registered its entry point here; tempest runs in a venv of its
        # own, where devstack installs TEMPEST_PLUGINS.
        if [[ "${TEMPEST_PLUGINS:-0}" == "0" ]]; then
            TEMPEST_PLUGINS=$ZAQAR_DIR
        elif [[ " $TEMPEST_PLUGINS " != *" $ZAQAR_DIR "* ]]; then
            TEMPEST_PLUGINS="$TEMPEST_PLUGINS $ZAQAR_DIR"
        fi
    fi
}


# Configure
# ---------

# configure_zaqar_conf() - zaqar.conf and policy.yaml
function configure_zaqar_conf {
    local driver uri
    driver=$(zaqar_store_driver)
    uri=$(zaqar_store_uri)

    # Written anew: nothing left from an earlier stack.sh. devstack merges
    # local.conf's [[post-config|$ZAQAR_CONF]] after this phase.
    rm -f "$ZAQAR_CONF"

    iniset "$ZAQAR_CONF" DEFAULT debug "$ENABLE_DEBUG_LOG_LEVEL"
    iniset "$ZAQAR_CONF" DEFAULT state_path "$ZAQAR_STATE_PATH"
    iniset "$ZAQAR_CONF" DEFAULT admin_mode "$ZAQAR_ADMIN_MODE"
    if zaqar_pooling; then
        # /v2/pools and /v2/flavors (with admin_mode, which
        # check_zaqar_pools made sure of).
        iniset "$ZAQAR_CONF" DEFAULT pooling True
    fi
    setup_logging "$ZAQAR_CONF"

    # zaqar-server runs the WebSocket transport; the REST API runs
    # zaqar_core.wsgi under uWSGI, which is the wsgi transport whatever
    # this says (as upstream's devstack has it).
    if is_service_enabled zaqar-websocket; then
        iniset "$ZAQAR_CONF" drivers transport websocket
        iniset "$ZAQAR_CONF" drivers:transport:websocket bind \
            "$ZAQAR_SERVICE_LISTEN_ADDRESS"
        iniset "$ZAQAR_CONF" drivers:transport:websocket port \
            "$ZAQAR_WEBSOCKET_PORT"
        iniset "$ZAQAR_CONF" drivers:transport:websocket workers \
            "$API_WORKERS"
    else
        iniset "$ZAQAR_CONF" drivers transport wsgi
    fi
    iniset "$ZAQAR_CONF" drivers message_store "$driver"
    iniset "$ZAQAR_CONF" drivers management_store "$driver"
    iniset "$ZAQAR_CONF" "drivers:message_store:$driver" uri "$uri"
    iniset "$ZAQAR_CONF" "drivers:management_store:$driver" uri "$uri"

    iniset "$ZAQAR_CONF" signed_url secret_key \
        "${ZAQAR_SIGNED_URL_KEY:-$(generate_hex_string 32)}"
    # Mail goes through [notification] smtp_command (sendmail), the
    # default; webhooks need nothing.
    iniset "$ZAQAR_CONF" notification require_confirmation \
        "$ZAQAR_REQUIRE_CONFIRMATION"

    # transport_url, when devstack runs a message bus: zaqar-bridge
    # listens there, and [oslo_messaging_notifications] driver (not set
    # here) would send queue events there.
    iniset_rpc_backend zaqar "$ZAQAR_CONF"

    if is_service_enabled key; then
        iniset "$ZAQAR_CONF" DEFAULT auth_strategy keystone
        configure_keystone_authtoken_middleware "$ZAQAR_CONF" zaqar
        iniset "$ZAQAR_CONF" trustee auth_type password
        iniset "$ZAQAR_CONF" trustee auth_url "$KEYSTONE_SERVICE_URI"
        iniset "$ZAQAR_CONF" trustee username "$ZAQAR_TRUSTEE_USER"
        iniset "$ZAQAR_CONF" trustee password \
            "${ZAQAR_TRUSTEE_PASSWORD:-$SERVICE_PASSWORD}"
        iniset "$ZAQAR_CONF" trustee user_domain_name \
            "${ZAQAR_TRUSTEE_DOMAIN:-$SERVICE_DOMAIN_NAME}"
    fi

    # The rules in code apply; the sample (all commented out) shows them
    # for editing.
    if [[ -f "$ZAQAR_DIR/etc/policy.yaml.sample" ]]; then
        cp "$ZAQAR_DIR/etc/policy.yaml.sample" "$ZAQAR_POLICY_FILE"
        iniset "$ZAQAR_CONF" oslo_policy policy_file "$ZAQAR_POLICY_FILE"
    fi
}

# configure_zaqar_uwsgi() - the uWSGI configuration of zaqar-server
function configure_zaqar_uwsgi {
    local http=""
    local listen=$ZAQAR_SERVICE_LISTEN_ADDRESS
    if ! zaqar_behind_apache; then
        if [[ "$listen" == *:* && "$listen" != \[* ]]; then
            listen="[$listen]"
        fi
        http="$listen:$ZAQAR_SERVICE_PORT"
    fi
    # Apache proxies /messaging to a uWSGI socket, or uWSGI answers HTTP
    # on $http.
    write_uwsgi_config "$ZAQAR_UWSGI_CONF" "$ZAQAR_WSGI_MODULE" \
        "/messaging" "$http" "$ZAQAR_UWSGI_APP"
    # A devstack that predates module paths wrote our module as a file.
    inidelete "$ZAQAR_UWSGI_CONF" uwsgi wsgi-file
    iniset "$ZAQAR_UWSGI_CONF" uwsgi module "$ZAQAR_WSGI_MODULE"
    iniset "$ZAQAR_UWSGI_CONF" uwsgi env "ZAQAR_CONFIG_FILE=$ZAQAR_CONF"
    # zaqar_core.wsgi builds the app (and its store connections) in each
    # worker and refuses to load in the master.
    iniset "$ZAQAR_UWSGI_CONF" uwsgi lazy-apps true
    iniset "$ZAQAR_UWSGI_CONF" uwsgi need-app true
    iniset "$ZAQAR_UWSGI_CONF" uwsgi enable-threads true
    iniset "$ZAQAR_UWSGI_CONF" uwsgi threads "$ZAQAR_UWSGI_THREADS"
}

# configure_zaqar() - files and directories
function configure_zaqar {
    check_zaqar_backend
    if zaqar_pooling; then
        check_zaqar_pools
    fi
    sudo install -d -o "$STACK_USER" -m 0755 "$ZAQAR_CONF_DIR"
    mkdir -p "$ZAQAR_STATE_PATH"
    configure_zaqar_conf
    configure_zaqar_uwsgi
}

# create_zaqar_accounts() - the service user and the catalog entries
function create_zaqar_accounts {
    create_service_user zaqar

    get_or_create_service zaqar messaging "OpenStack Messaging Service"
    get_or_create_endpoint messaging "$REGION_NAME" "$(zaqar_api_url)"

    if is_service_enabled zaqar-websocket; then
        get_or_create_service zaqar-websocket messaging-websocket \
            "OpenStack Messaging Service (WebSocket)"
        get_or_create_endpoint messaging-websocket "$REGION_NAME" \
            "$(zaqar_websocket_url)"
    fi
}


# Start and stop
# --------------

# init_zaqar() - the database and its schema, and the empty databases of
# SQL server pools (the server gives a pool its schema when it is
# registered)
function init_zaqar {
    case "$ZAQAR_BACKEND" in
        postgresql|mysql)
            recreate_database zaqar
            ;;
    esac
    if zaqar_backend_is_sql; then
        "$ZAQAR_BIN_DIR/zaqar-manage" --config-file "$ZAQAR_CONF" db upgrade
    fi
    if zaqar_pooling; then
        local backend number=0
        for backend in $ZAQAR_POOL_BACKENDS; do
            number=$((number + 1))
            case "$backend" in
                postgresql|mysql)
                    recreate_database "zaqar_pool$number"
                    ;;
            esac
        done
    fi
}

# wait_for_zaqar() - until the API answers GET / (its version list, no
# authentication): a 2xx or 3xx, not Apache's 503 for a missing backend.
function wait_for_zaqar {
    local url
    url="$(zaqar_api_url)/"
    local deadline=$((SECONDS + SERVICE_TIMEOUT))
    local status
    while true; do
        status=$(curl -g -k --noproxy '*' -s -o /dev/null \
            -w '%{http_code}' "$url") || true
        case "$status" in
            2??|3??)
                return 0
                ;;
        esac
        if (( SECONDS >= deadline )); then
            die $LINENO "zaqar-server did not answer $url in" \
                "${SERVICE_TIMEOUT}s (last status: ${status:-none})"
        fi
        sleep 1
    done
}

# wait_for_zaqar_websocket() - until the WebSocket server answers: a plain
# HTTP GET gets 426 (Upgrade Required) from it.
function wait_for_zaqar_websocket {
    local url="http://$ZAQAR_SERVICE_HOST:$ZAQAR_WEBSOCKET_PORT/"
    local deadline=$((SECONDS + SERVICE_TIMEOUT))
    local status
    while true; do
        status=$(curl -g -k --noproxy '*' -s -o /dev/null \
            -w '%{http_code}' "$url") || true
        if [[ "$status" == "426" ]]; then
            return 0
        fi
        if (( SECONDS >= deadline )); then
            die $LINENO "zaqar-websocket did not answer $url in" \
                "${SERVICE_TIMEOUT}s (last status: ${status:-none})"
        fi
        sleep 1
    done
}

# register_zaqar_pools() - PUT /v2/pools/poolN (weight 100) for the Nth
# ZAQAR_POOL_BACKENDS entry, as the admin: created, or replaced on a
# second stack.sh. The server checks that each store answers first.
function register_zaqar_pools {
    # Any UUID: the pool actions do not use it, but want one. The token and
    # the URIs (database passwords) reach curl through a pipe and stdin,
    # never its command line, which any local user can read.
    local -a headers=("Client-ID: 5c9a1d3e-7f52-4b8e-9c0d-2a6b4e8f1d7c"
                      "Content-Type: application/json")
    local token
    if is_service_enabled key; then
        token=$(openstack --os-cloud devstack-admin token issue -f value \
            -c id) || die $LINENO "No admin token to register zaqar" \
            "pools: openstack --os-cloud devstack-admin token issue failed"
        headers+=("X-Auth-Token: $token")
    else
        # No Keystone: nothing checks who says they are the admin.
        headers+=("X-Project-ID: admin" "X-Roles: admin")
    fi
    local backend uri body out status answer number=0
    for backend in $ZAQAR_POOL_BACKENDS; do
        number=$((number + 1))
        uri=$(zaqar_pool_uri "$number" "$backend")
        # A JSON string: a database password may hold \ or ".
        uri=${uri//\\/\\\\}
        uri=${uri//\"/\\\"}
        body="{\"uri\": \"$uri\", \"weight\": 100}"
        out=$(curl -g -k --noproxy '*' -sS -X PUT \
            -H @<(printf '%s\n' "${headers[@]}") --data-binary @- \
            -w '\n%{http_code}' "$(zaqar_api_url)/v2/pools/pool$number" \
            <<<"$body") || true
        # The answer's body, a newline, its status.
        status=${out##*$'\n'}
        answer=""
        if [[ "$out" == *$'\n'* ]]; then
            answer=${out%$'\n'*}
        fi
        case "$status" in
            2??)
                echo "Registered zaqar pool pool$number ($backend)"
                ;;
            *)
                die $LINENO "zaqar-server did not register pool$number" \
                    "($backend, ZAQAR_POOL_BACKENDS): status" \
                    "${status:-none}${answer:+: ${answer//$'\n'/ }}"
                ;;
        esac
    done
}

# start_zaqar() - the services enabled
function start_zaqar {
    if is_service_enabled zaqar-server; then
        run_process zaqar-server \
            "$ZAQAR_UWSGI_BIN --procname-prefix zaqar-api --ini $ZAQAR_UWSGI_CONF"
        echo "Waiting for zaqar-server to start..."
        wait_for_zaqar
        if zaqar_pooling; then
            register_zaqar_pools
        fi
    fi
    if is_service_enabled zaqar-bridge; then
        if ! is_service_enabled rabbit; then
            warn $LINENO "zaqar-bridge without devstack's rabbit: it" \
                "listens on [DEFAULT] transport_url of $ZAQAR_CONF"
        fi
        run_process zaqar-bridge \
            "$ZAQAR_BIN_DIR/zaqar-bridge --config-file $ZAQAR_CONF"
    fi
    if is_service_enabled zaqar-websocket; then
        run_process zaqar-websocket \
            "$ZAQAR_BIN_DIR/zaqar-server --config-file $ZAQAR_CONF"
        echo "Waiting for zaqar-websocket to start..."
        wait_for_zaqar_websocket
    fi
}

# stop_zaqar() - the processes start_zaqar started
function stop_zaqar {
    if is_service_enabled zaqar-websocket; then
        stop_process zaqar-websocket
    fi
    if is_service_enabled zaqar-bridge; then
        stop_process zaqar-bridge
    fi
    if is_service_enabled zaqar-server; then
        stop_process zaqar-server
    fi
}

# cleanup_zaqar() - what stack.sh left: configuration, SQLite database.
# A PostgreSQL or MySQL database goes with devstack's database server; a
# Redis keeps its data (other services may share it).
function cleanup_zaqar {
    remove_uwsgi_config "$ZAQAR_UWSGI_CONF" "$ZAQAR_UWSGI_APP"
    sudo rm -rf "$ZAQAR_CONF_DIR" "$ZAQAR_STATE_PATH"
}


# Tempest
# -------

# configure_zaqar_tempest() - [service_available] and [messaging]
function configure_zaqar_tempest {
    local available=False
    if is_service_enabled zaqar-server; then
        available=True
    fi
    iniset "$TEMPEST_CONFIG" service_available zaqar "$available"
    iniset "$TEMPEST_CONFIG" messaging catalog_type messaging

    # The limits the tests probe: the server's, as configured.
    local pair tempest_opt zaqar_opt default value
    for pair in max_queues_per_page:max_queues_per_page:20 \
                max_queue_metadata:max_queue_metadata:65536 \
                max_messages_per_page:max_messages_per_page:20 \
                max_message_size:max_messages_post_size:262144 \
                max_messages_per_claim:max_messages_per_claim_or_pop:20 \
                max_message_ttl:max_message_ttl:1209600 \
                max_claim_ttl:max_claim_ttl:43200 \
                max_claim_grace:max_claim_grace:43200; do
        IFS=: read -r tempest_opt zaqar_opt default <<< "$pair"
        value=$(iniget "$ZAQAR_CONF" transport "$zaqar_opt")
        iniset "$TEMPEST_CONFIG" messaging "$tempest_opt" "${value:-$default}"
    done
}


# Phases
# ------

if is_service_enabled zaqar-server zaqar-websocket zaqar-bridge; then
    if [[ "${1:-}" == "stack" && "${2:-}" == "install" ]]; then
        echo_summary "Installing zaqar-core"
        install_zaqar
    elif [[ "${1:-}" == "stack" && "${2:-}" == "post-config" ]]; then
        echo_summary "Configuring zaqar-core"
        configure_zaqar
        if is_service_enabled key; then
            create_zaqar_accounts
        fi
    elif [[ "${1:-}" == "stack" && "${2:-}" == "extra" ]]; then
        echo_summary "Starting zaqar-core"
        init_zaqar
        start_zaqar
    elif [[ "${1:-}" == "stack" && "${2:-}" == "test-config" ]]; then
        if is_service_enabled tempest; then
            echo_summary "Configuring tempest for zaqar-core"
            configure_zaqar_tempest
        fi
    fi

    if [[ "${1:-}" == "unstack" ]]; then
        stop_zaqar
    fi

    if [[ "${1:-}" == "clean" ]]; then
        cleanup_zaqar
    fi
fi

$_XTRACE_ZAQAR

# Local variables:
# mode: shell-script
# End:
