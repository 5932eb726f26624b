# bash completion for rift: commands, options, scenario and
# capture files, and the --server names of the servers fetched into rift's
# cache (rift fetch --names).

_rift_servers()
{
    local names
    names=$(rift fetch --names 2>/dev/null)
    if [[ $1 == list ]]; then
        # --servers a,b,c: complete the last name of the list
        local head=${cur%"${cur##*,}"}
        COMPREPLY=($(compgen -P "$head" -W "$names" -- "${cur##*,}"))
        compopt -o nospace 2>/dev/null
    else
        COMPREPLY=($(compgen -W "$names" -- "$cur"))
    fi
}

_rift()
{
    local cur prev words cword
    _init_completion || return
    if ((cword == 1)); then
        COMPREPLY=($(compgen -W "run up ctl down matrix chaos shrink decode audit check cleanup
            fetch --version --help" -- "$cur"))
        return
    fi
    case $prev in
    --server)
        _rift_servers
        return
        ;;
    --servers)
        _rift_servers list
        return
        ;;
    --report)
        _filedir -d
        return
        ;;
    --attach)
        return
        ;;
    --hosts)
        _filedir ini
        return
        ;;
    --out | --commands)
        _filedir
        return
        ;;
    --log)
        _filedir
        return
        ;;
    --seed | --time | --rounds | --runs | --shrink-time | --final | --findings | --keep-findings | --port | \
        --check | --grace | --ttl)
        return
        ;;
    esac
    local opts="" files=ini
    case ${words[1]} in
    run) opts="--seed --report --server --hosts --attach" ;;
    up) opts="--seed --report --server --hosts --attach --grace --ttl --log" ;;
    ctl)
        if ((cword == 2)); then
            _filedir
        elif ((cword == 3)); then
            COMPREPLY=($(compgen -W "failover kill restart pause resume migrate fault set wait
                checks views mark info ping" -- "$cur"))
        fi
        return
        ;;
    down)
        ((cword == 2)) && _filedir
        return
        ;;
    matrix) opts="--servers --runs --report" ;;
    chaos) opts="--seed --time --rounds --server --report --shrink-time --runs --findings
        --keep-findings --keep-rounds --dry-run" ;;
    shrink) opts="--runs --check --out --shrink-time --final --server" ;;
    decode) opts="--json" files='@(pcap|pcapng)' ;;
    audit) opts="--json --server --commands --port" files='@(pcap|pcapng)' ;;
    check) opts="--chaos --hosts" ;;
    cleanup) opts="--hosts" files="" ;;
    fetch)
        opts="--list --names --force"
        if [[ $cur != -* ]]; then
            COMPREPLY=($(compgen -W "redis@sid valkey@sid redis@trixie valkey@trixie redis8 valkey
                redis@bookworm-backports valkey@bookworm-backports valkey-1912 clients" -- "$cur"))
            return
        fi
        ;;
    *) return ;;
    esac
    if [[ $cur == -* || -z $files ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    _filedir "$files"
}
complete -F _rift rift
