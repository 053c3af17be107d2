using System.Collections.Concurrent;
using Xunit;

namespace OrleansLlm.Tests.Deploy;

/// <summary>Renders the kustomizations under <c>deploy/</c> with <c>kubectl kustomize</c>, once per directory per test run.</summary>
public static class Kustomize
{
    private static readonly ConcurrentDictionary<string, Lazy<Task<string>>> Rendered = new();

    public static string RepoRoot => RepoPaths.Root;

    /// <summary>The YAML stream of <c>kubectl kustomize deploy/<paramref name="relativeDir"/></c>.</summary>
    public static Task<string> RenderAsync(string relativeDir) =>
        Rendered.GetOrAdd(relativeDir, dir => new Lazy<Task<string>>(() => RunAsync(Path.Combine(RepoRoot, "deploy", dir), $"deploy/{dir}"))).Value;

    /// <summary>
    /// Renders an overlay of one's own, as if its kustomization.yaml were <c>deploy/overlays/mine/kustomization.yaml</c>:
    /// the relative paths it lists (<c>../cpu</c>, <c>../../transformers/...</c>) are read from there. The repository
    /// is not written to: the file goes to a temporary directory, its paths rewritten to reach the same places.
    /// </summary>
    public static async Task<string> RenderOverlayAsync(string kustomization)
    {
        var home = Path.Combine(RepoRoot, "deploy", "overlays", "mine");
        var dir = Directory.CreateTempSubdirectory("orleansllm-overlay-").FullName;
        try
        {
            var lines = kustomization.Split('\n').Select(line =>
            {
                var entry = System.Text.RegularExpressions.Regex.Match(line, @"^(\s*-\s+)(\.\.?/\S+)\s*$");
                return entry.Success
                    ? entry.Groups[1].Value + Path.GetRelativePath(dir, Path.GetFullPath(Path.Combine(home, entry.Groups[2].Value)))
                    : line;
            });
            await File.WriteAllLinesAsync(Path.Combine(dir, "kustomization.yaml"), lines);
            return await RunAsync(dir, "an overlay of one's own");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // A laptop with only the .NET SDK has no kubectl (Debian ships none recent enough): ProcessRunner reports these
    // tests skipped there, and .ci/run says so loudly. The project's machine image and CI have it.
    private static async Task<string> RunAsync(string dir, string name)
    {
        var run = await ProcessRunner.RunAsync(Environment.GetEnvironmentVariable("KUBECTL") ?? "kubectl", ["kustomize", dir]);
        return run.ExitCode == 0
            ? run.Stdout
            : throw new InvalidOperationException($"kubectl kustomize {name} failed ({run.ExitCode}): {run.Stderr}");
    }
}
