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

    /// <summary>
    /// The API keys the tests render with, by tenant: what docs/kubernetes.md has a user make, two keys whose hashes
    /// go to deploy/secrets/api-keys/api-keys.env. The keys themselves are kept here only to check that they never
    /// reach the manifests.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ApiKeys { get; } =
        new[] { "team-a", "team-b" }.ToDictionary(t => t, _ => "sk-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)).ToLowerInvariant());

    /// <summary>The webhooks' signing secret the tests render with (deploy/secrets/api-webhook/api-webhook.env): whsec_ and base64.</summary>
    public static string WebhookSecret { get; } = "whsec_" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// vLLM's API key the tests render with (deploy/secrets/vllm/vllm.env, as docs/kubernetes.md has a user make it):
    /// hex, and no Hugging Face token, since the default model is public.
    /// </summary>
    public static string VllmApiKey { get; } = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();

    /// <summary>The hex SHA-256 of an API key, as <c>printf %s "$KEY" | sha256sum</c> prints it.</summary>
    public static string Sha256Hex(string key) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key))).ToLowerInvariant();

    /// <summary>The files a user makes before applying, under deploy/secrets, that the repository does not hold.</summary>
    public static IReadOnlyDictionary<string, string> OwnFiles { get; } = new Dictionary<string, string>
    {
        ["secrets/redis-silo.env"] = $"password={RedisPasswords["silo"]}\n",
        ["secrets/redis-client.env"] = $"password={RedisPasswords["client"]}\n",
        ["secrets/redis-keda.env"] = $"password={RedisPasswords["keda"]}\n",
        ["secrets/api-keys/api-keys.env"] = string.Concat(ApiKeys.Select((k, i) => $"Api__Keys__{i}__Tenant={k.Key}\nApi__Keys__{i}__Sha256={Sha256Hex(k.Value)}\n")),
        ["secrets/api-webhook/api-webhook.env"] = $"Webhooks__Secret={WebhookSecret}\n",
        ["secrets/vllm/vllm.env"] = $"api-key={VllmApiKey}\n",
    };

    private static readonly Lazy<string> Copy = new(MakeCopy);

    /// <summary>
    /// A copy of <c>deploy/</c> with the files a user makes before applying (<see cref="OwnFiles"/>: passwords, API
    /// keys' hashes, the webhooks' secret), which the repository does not hold: the kustomizations render from here.
    /// The repository is not written to.
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
    /// <param name="files">More files of the overlay (e.g. a patch it lists), by name.</param>
    public static async Task<string> RenderOverlayAsync(string kustomization, IReadOnlyDictionary<string, string>? files = null)
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
            foreach (var (name, text) in files ?? new Dictionary<string, string>())
            {
                await File.WriteAllTextAsync(Path.Combine(dir, name), text);
            }

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
                continue; // a developer's own passwords and keys, if any, stay out of the tests
            }

            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        foreach (var (file, text) in OwnFiles)
        {
            File.WriteAllText(Path.Combine(copy, file), text);
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
