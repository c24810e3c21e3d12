import type { Command } from 'commander';

/**
 * Shell completion, the way cobra (kubectl, velero) does it: the script the shell sources asks
 * `sddc-ops __complete WORDS…` for the candidates, so it always matches the installed version.
 */
export const COMPLETION_SCRIPTS: Record<'bash' | 'zsh' | 'fish', string> = {
  bash: `# sddc-ops completion for bash: source <(sddc-ops completion bash)
_sddc_ops() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  COMPREPLY=( $(compgen -W "$(sddc-ops __complete "\${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null)" -- "$cur") )
}
complete -o default -F _sddc_ops sddc-ops
`,
  zsh: `#compdef sddc-ops
# sddc-ops completion for zsh: source <(sddc-ops completion zsh)
_sddc_ops() {
  local -a candidates
  candidates=(\${(f)"$(sddc-ops __complete \${words[2,CURRENT-1]} 2>/dev/null)"})
  compadd -- $candidates
}
compdef _sddc_ops sddc-ops
`,
  fish: `# sddc-ops completion for fish: sddc-ops completion fish | source
complete -c sddc-ops -f -a '(sddc-ops __complete (commandline -opc)[2..-1])'
`,
};

/** The subcommands (and aliases) and long options of the command the words lead to. */
export function candidates(program: Command, words: string[]): string[] {
  let cmd = program;
  for (const w of words) {
    if (w.startsWith('-')) continue;
    const next = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (next) cmd = next;
  }
  const subs = cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden && c.name() !== 'help').flatMap((c) => [c.name(), ...c.aliases()]);
  const used = new Set(words);
  const options = cmd.options.map((o) => o.long).filter((l): l is string => !!l && !used.has(l));
  return [...subs, ...options, '--help'];
}
