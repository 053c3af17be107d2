using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// What the installed <c>kubectl</c> accepts, read from its own help: the subcommands of a command, and the flags of a
/// (sub)command with whether each takes a value. The global flags come from <c>kubectl options</c>.
/// </summary>
public static partial class KubectlCli
{
    private static readonly ConcurrentDictionary<string, Lazy<Task<Help>>> Helps = new();

    /// <summary>A kubectl command as its help describes it.</summary>
    /// <param name="Flags">Long and short names (without dashes) of every flag, global ones included, and whether it is a switch.</param>
    public sealed record Help(IReadOnlyDictionary<string, bool> Flags, IReadOnlySet<string> Subcommands);

    /// <summary>The help of <c>kubectl <paramref name="path"/></c>, e.g. <c>["rollout", "status"]</c>.</summary>
    public static Task<Help> HelpAsync(IReadOnlyList<string> path) =>
        Helps.GetOrAdd(string.Join(' ', path), _ => new Lazy<Task<Help>>(() => ReadAsync(path))).Value;

    private static async Task<Help> ReadAsync(IReadOnlyList<string> path)
    {
        var kubectl = Environment.GetEnvironmentVariable("KUBECTL") ?? "kubectl";
        var help = await ProcessRunner.RunAsync(kubectl, [.. path, "--help"]);
        if (help.ExitCode != 0)
        {
            throw new Xunit.Sdk.XunitException($"kubectl {string.Join(' ', path)} is not a kubectl command: {help}");
        }

        var options = await ProcessRunner.RunAsync(kubectl, ["options"]);
        var flags = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (Match m in OptionLine().Matches(help.Stdout + "\n" + options.Stdout))
        {
            var isSwitch = m.Groups["default"].Value is "false" or "true";
            flags[m.Groups["long"].Value] = isSwitch;
            if (m.Groups["short"].Success)
            {
                flags[m.Groups["short"].Value] = isSwitch;
            }
        }

        var commands = help.Stdout.Contains("Available Commands:", StringComparison.Ordinal)
            ? SubcommandLine().Matches(help.Stdout[help.Stdout.IndexOf("Available Commands:", StringComparison.Ordinal)..].Split("\n\n")[0])
                .Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal)
            : [];
        return new Help(flags, commands);
    }

    [GeneratedRegex(@"^\s+(?:-(?<short>[A-Za-z]), )?--(?<long>[a-z0-9-]+)=(?<default>[^\n]*):$", RegexOptions.Multiline)]
    private static partial Regex OptionLine();

    [GeneratedRegex(@"^\s{2}([a-z][a-z0-9-]*)\s{2,}", RegexOptions.Multiline)]
    private static partial Regex SubcommandLine();
}
