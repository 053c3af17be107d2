using System.Diagnostics;

namespace OrleansLlm.Benchmarks.Infrastructure;

/// <summary>
/// The built silo and CLI of one checkout: this one's, or another commit's (<c>--baseline DIR</c>), so that two
/// builds can be measured side by side in one run on one machine.
/// </summary>
/// <param name="Name">How the report names it: "current" or "baseline", with the commit.</param>
public sealed record SiloBuild(string Name, string SiloDll, string CliDll)
{
    /// <summary>The silo and CLI built beside this harness, in its configuration.</summary>
    public static SiloBuild Current() =>
        new($"current ({Commit(RepoPaths.Root)})", RepoPaths.BuiltProgram("Silo", "OrleansLlm.Silo"), RepoPaths.BuiltProgram("Cli", "orleansllm"));

    /// <summary>The same programs, at the same paths, in another checkout built with <c>dotnet build -c Release</c>.</summary>
    /// <exception cref="FileNotFoundException">The checkout has not been built.</exception>
    public static SiloBuild Baseline(string checkout)
    {
        var root = Path.GetFullPath(checkout);
        string Beside(string dll)
        {
            var path = Path.Combine(root, Path.GetRelativePath(RepoPaths.Root, dll));
            return File.Exists(path) ? path : throw new FileNotFoundException($"--baseline {checkout}: {path} is missing; run 'dotnet build -c Release' there first", path);
        }

        var current = Current();
        return new SiloBuild($"baseline ({Commit(root)})", Beside(current.SiloDll), Beside(current.CliDll));
    }

    /// <summary>The checkout's short commit, and "+changes" when its tree differs from it.</summary>
    private static string Commit(string checkout)
    {
        var commit = Git(checkout, "rev-parse", "--short", "HEAD");
        return commit.Length == 0 ? Path.GetFileName(checkout) : Git(checkout, "status", "--porcelain", "--untracked-files=no").Length > 0 ? commit + "+changes" : commit;
    }

    private static string Git(string checkout, params string[] args)
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", ["-C", checkout, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 ? output : string.Empty;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return string.Empty;
        }
    }
}
