# bash completion for rift-shim: options, policy files, control requests.

_rift_shim()
{
    local cur prev words cword
    _init_completion || return
    case $prev in
    --policy)
        _filedir ini
        return
        ;;
    ctl)
        _filedir
        return
        ;;
    --seed | --queue | --owner)
        return
        ;;
    esac
    if ((cword >= 3)) && [[ ${words[1]} == ctl ]]; then
        ((cword == 3)) && COMPREPLY=($(compgen -W "on off set stats release quit" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -W "--policy --seed --check --cleanup --queue --owner ctl --help" -- "$cur"))
}
complete -F _rift_shim rift-shim
