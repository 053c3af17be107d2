namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// A documented <c>kubectl</c> command read against the installed kubectl's own help: which (sub)command it runs,
/// its flags and their values, its positional arguments, and what follows <c>--</c>.
/// </summary>
public sealed record KubectlCommand(
    ShellCommand Source,
    IReadOnlyList<string> Path,
    IReadOnlyList<(string Flag, string? Value)> Flags,
    IReadOnlyList<string> Positionals,
    IReadOnlyList<string> AfterDashDash)
{
    public string Verb => string.Join(' ', Path);

    /// <summary>The values given for a flag, by its long or short name.</summary>
    public IEnumerable<string> Values(params string[] names) =>
        Flags.Where(f => names.Contains(f.Flag) && f.Value is not null).Select(f => f.Value!);

    public string? Value(params string[] names) => Values(names).LastOrDefault();

    public bool Has(params string[] names) => Flags.Any(f => names.Contains(f.Flag));

    /// <summary>Reads <paramref name="command"/>; a flag the installed kubectl does not know for that command fails.</summary>
    public static async Task<KubectlCommand> ParseAsync(ShellCommand command)
    {
        var words = command.Words.Skip(1).ToList();
        var dashDash = words.IndexOf("--");
        var after = dashDash >= 0 ? words[(dashDash + 1)..] : [];
        if (dashDash >= 0)
        {
            words = words[..dashDash];
        }

        var path = new List<string>();
        while (words.Count > 0 && !words[0].StartsWith('-') && (path.Count == 0 || (await KubectlCli.HelpAsync(path)).Subcommands.Contains(words[0])))
        {
            path.Add(words[0]);
            words.RemoveAt(0);
        }

        var help = await KubectlCli.HelpAsync(path);
        var flags = new List<(string, string?)>();
        var positionals = new List<string>();
        for (var i = 0; i < words.Count; i++)
        {
            var word = words[i];
            if (!word.StartsWith('-') || word == "-")
            {
                positionals.Add(word);
                continue;
            }

            var name = word.TrimStart('-');
            string? value = null;
            var eq = name.IndexOf('=');
            if (eq >= 0)
            {
                (name, value) = (name[..eq], name[(eq + 1)..]);
            }
            else if (!word.StartsWith("--", StringComparison.Ordinal) && name.Length > 1 && help.Flags.TryGetValue(name[..1], out var takes) && !takes)
            {
                throw new Xunit.Sdk.XunitException($"{command}: combined short flags ({word}) are not used in the docs");
            }
            else if (!word.StartsWith("--", StringComparison.Ordinal) && name.Length > 1)
            {
                (name, value) = (name[..1], name[1..]);
            }

            if (!help.Flags.TryGetValue(name, out var isSwitch))
            {
                throw new Xunit.Sdk.XunitException($"{command}: kubectl {string.Join(' ', path)} has no flag {word}");
            }

            if (!isSwitch && value is null)
            {
                if (i + 1 >= words.Count)
                {
                    throw new Xunit.Sdk.XunitException($"{command}: {word} needs a value");
                }

                value = words[++i];
            }

            flags.Add((name, value));
        }

        return new KubectlCommand(command, path, flags, positionals, after);
    }

    public override string ToString() => Source.ToString();
}
