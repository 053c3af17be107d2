using System.Collections.Concurrent;
using Xunit;

namespace OrleansLlm.Tests.Deploy;

/// <summary>Renders the kustomizations under <c>deploy/</c> with <c>kubectl kustomize</c>, once per directory per test run.</summary>
public static class Kustomize
{
    private static readonly ConcurrentDictionary<string, Lazy<Task<string>>> Rendered = new();

    public static string RepoRoot => RepoPaths.Root;

    /// <summary>
    /// The Redis users' passwords the tests render with: what deploy/secrets/README.md has a user make, made once per
    /// test run, letters and digits only.
    /// </summary>
    public static IReadOnlyDictionary<string, string> RedisPasswords { get; } =
        new[] { "silo", "client", "keda" }.ToDictionary(u => u, _ => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)).ToLowerInvariant());

    private static readonly Lazy<string> Copy = new(MakeCopy);

    /// <summary>
    /// A copy of <c>deploy/</c> with the password files a user makes before applying (deploy/secrets/*.env), which
    /// the repository does not hold: the kustomizations render from here. The repository is not written to.
    /// </summary>
    public static string DeployRoot => Copy.Value;

    /// <summary>The YAML stream of <c>kubectl kustomize deploy/<paramref name="relativeDir"/></c>, with the password files made.</summary>
    public static Task<string> RenderAsync(string relativeDir) =>
        Rendered.GetOrAdd(relativeDir, dir => new Lazy<Task<string>>(() => RunAsync(Path.Combine(DeployRoot, dir), $"deploy/{dir}"))).Value;

    /// <summary>Renders a directory of the repository's own deploy/ as it stands, without the password files.</summary>
    public static Task<string> RenderRepositoryAsync(string relativeDir) => RunAsync(Path.Combine(RepoRoot, "deploy", relativeDir), $"deploy/{relativeDir}");

    /// <summary>
    /// Renders an overlay of one's own, as if its kustomization.yaml were <c>deploy/overlays/mine/kustomization.yaml</c>:
    /// the relative paths it lists (<c>../cpu</c>, <c>../../transformers/...</c>) are read from there. The repository
    /// is not written to: the file goes to a temporary directory, its paths rewritten to reach the same places.
    /// </summary>
    public static async Task<string> RenderOverlayAsync(string kustomization)
    {
        var home = Path.Combine(DeployRoot, "overlays", "mine");
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

    private static string MakeCopy()
    {
        var root = Directory.CreateTempSubdirectory("orleansllm-deploy-").FullName;
        var copy = Path.Combine(root, "deploy");
        var source = Path.Combine(RepoRoot, "deploy");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(source, file));
            if (Path.GetRelativePath(source, file).StartsWith("secrets" + Path.DirectorySeparatorChar, StringComparison.Ordinal) && file.EndsWith(".env", StringComparison.Ordinal))
            {
                continue; // a developer's own passwords, if any, stay out of the tests
            }

            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        foreach (var (user, password) in RedisPasswords)
        {
            File.WriteAllText(Path.Combine(copy, "secrets", $"redis-{user}.env"), $"password={password}\n");
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(root, recursive: true);
        return copy;
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
