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
        COMPREPLY=($(compgen -W "run matrix chaos shrink decode audit check cleanup fetch
            --version --help" -- "$cur"))
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
    --hosts)
        _filedir ini
        return
        ;;
    --out | --commands)
        _filedir
        return
        ;;
    --seed | --time | --rounds | --runs | --shrink-time | --findings | --keep-findings | --port | --check)
        return
        ;;
    esac
    local opts="" files=ini
    case ${words[1]} in
    run) opts="--seed --report --server --hosts" ;;
    matrix) opts="--servers --runs --report" ;;
    chaos) opts="--seed --time --rounds --server --report --shrink-time --runs --findings
        --keep-findings --keep-rounds --dry-run" ;;
    shrink) opts="--runs --check --out --shrink-time --server" ;;
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
