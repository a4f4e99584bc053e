# shellcheck shell=bash
# Which paths root may run or load code from (sourced by scripts/install-drift-job.sh).
#
# A path is trusted when it is owned by root and writable by nobody else, and so is every directory above it up to
# `/` (a directory above may be writable by others if it has the sticky bit, as /tmp: they cannot rename or remove
# what root owns in it). A tree is trusted when every entry in it is (no sticky exception inside), and every symlink
# in it that leads out of it leads to a trusted path or tree. Group write covers ACLs: an ACL granting write shows
# as the group's write bit (the ACL mask). Each function prints nothing and returns 0, or names the first problem on
# stdout and returns 1; paths are canonical (realpath) by the time they get here.

declare -A TRUST_SEEN=()

# Why root must not trust PATH itself (empty: it may). $2=above: PATH is a directory above another (sticky allowed).
trust_problem() {
    local p=$1 above=${2:-} uid user mode
    read -r uid user mode < <(stat -c '%u %U %a' -- "$p" 2>/dev/null) || { echo "$p cannot be read"; return; }
    if [[ $uid != 0 ]]; then
        echo "$p is owned by $user (uid $uid), not root"
        return
    fi
    mode=$((8#$mode))
    ((mode & 8#022)) || return 0
    [[ -n $above && -d $p && $((mode & 8#1000)) != 0 ]] && return 0
    local who="its group"
    ((mode & 8#002)) && who="others"
    printf '%s is writable by %s (mode %o)\n' "$p" "$who" "$((mode & 8#7777))"
}

# PATH (existing or not) and every directory above it; a symlink on the way is followed, hop by hop, and its
# target checked the same way (the link itself can only be replaced by who can write the directory holding it).
# A missing PATH: its nearest existing directory must be writable by nobody else, sticky or not (anyone who can
# write there could create PATH).
trust_path() {
    local p q t why above="" depth=${2:-0}
    ((depth < 40)) || { echo "$1: too many levels of symlinks"; return 1; }
    p=$(realpath -ms -- "$1")
    q=$p
    while [[ ! -e $q && ! -L $q ]]; do q=$(dirname -- "$q"); done
    while :; do
        if [[ -L $q ]]; then
            t=$(readlink -- "$q")
            [[ $t == /* ]] || t="$(dirname -- "$q")/$t"
            trust_path "$t" $((depth + 1)) || return 1
        else
            why=$(trust_problem "$q" $above) && [[ -z $why ]] || { echo "$why"; return 1; }
        fi
        [[ $q == / ]] && return 0
        q=$(dirname -- "$q")
        above=above
    done
}

# DIR, the directories above it, every entry below it, and the targets of its symlinks that lead out of it.
trust_tree() {
    local dir=$1 bad target
    [[ -n ${TRUST_SEEN[$dir]:-} ]] && return 0
    TRUST_SEEN[$dir]=1
    trust_path "$dir" || return 1
    [[ -d $dir ]] || return 0
    bad=$(find "$dir" -mindepth 1 ! -type l \( ! -uid 0 -o -perm /022 \) -print -quit)
    if [[ -n $bad ]]; then
        trust_problem "$bad"
        return 1
    fi
    # Canonical targets of every symlink, in one process; a dangling link loads nothing.
    while IFS= read -r -d '' target; do
        [[ $target == "$dir" || $target == "$dir"/* ]] && continue
        trust_tree "$target" || return 1
    done < <(find "$dir" -mindepth 1 -type l -print0 | xargs -0 -r realpath -q -z -e -- 2>/dev/null || true)
}

# A secret file root reads (the passphrase file, the libpq password file): trusted, and no access for group/other.
trust_private_file() {
    local f=$1 mode
    [[ -f $f ]] || { echo "$f is not a file"; return 1; }
    trust_path "$f" || return 1
    mode=$(stat -c '%a' -- "$f")
    ((8#$mode & 8#077)) && { echo "$f is mode $mode: group and others can read it (chmod 600 $f)"; return 1; }
    return 0
}
