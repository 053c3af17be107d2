using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// No Docker engine runs here, so the Dockerfiles are checked against the projects they build: what restore reads is
/// copied before it, every project the app references is copied, the entry point is the project's assembly, and the
/// final image runs as the non-root user.
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class DockerfileTests
{
    public static TheoryData<string> Projects => new() { "src/Silo/Silo.csproj", "src/Cli/Cli.csproj" };

    [Theory]
    [MemberData(nameof(Projects))]
    public void Dockerfile_RestoresPublishesAndRunsItsProject(string project)
    {
        var root = Kustomize.RepoRoot;
        var projectDir = Path.GetDirectoryName(project)!;
        var lines = File.ReadAllLines(Path.Combine(root, projectDir, "Dockerfile"));
        var restore = Array.FindIndex(lines, l => l.StartsWith("RUN dotnet restore ", StringComparison.Ordinal));
        Assert.True(restore > 0, "the Dockerfile restores in a step of its own");
        Assert.Contains(project, lines[restore], StringComparison.Ordinal);
        var copiedBeforeRestore = lines[..restore].Where(l => l.StartsWith("COPY ", StringComparison.Ordinal))
            .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1]).ToHashSet();

        // Central package management and the SDK pin must be there when restore runs.
        Assert.Superset(new HashSet<string> { "global.json", "Directory.Build.props", "Directory.Packages.props" }, copiedBeforeRestore);
        foreach (var csproj in ProjectClosure(root, project))
        {
            Assert.Contains(csproj, copiedBeforeRestore);
            Assert.Contains(lines[restore..], l => l == $"COPY {Path.GetDirectoryName(csproj)}/ {Path.GetDirectoryName(csproj)}/");
        }

        var assembly = XDocument.Load(Path.Combine(root, project)).Descendants("AssemblyName").Single().Value;
        var entrypoint = lines.Single(l => l.StartsWith("ENTRYPOINT ", StringComparison.Ordinal));
        Assert.Matches($@"^ENTRYPOINT \[""dotnet"", ""(/app/)?{Regex.Escape(assembly)}\.dll""\]$", entrypoint);

        var final = Array.FindLastIndex(lines, l => l.StartsWith("FROM ", StringComparison.Ordinal));
        Assert.Matches(@"^FROM mcr\.microsoft\.com/dotnet/(aspnet|runtime):10\.0-noble-chiseled AS final$", lines[final]);
        Assert.Contains("USER $APP_UID", lines[final..]);
    }

    [Fact]
    public void DockerIgnore_SendsTheBuildInputsAndNoBuildOutput()
    {
        var rules = File.ReadAllLines(Path.Combine(Kustomize.RepoRoot, ".dockerignore"))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
        Assert.Equal("**", rules[0]);
        Assert.Superset(
            new HashSet<string> { "!global.json", "!Directory.Build.props", "!Directory.Packages.props", "!src/**", "!data/worldcities.csv", "**/bin/", "**/obj/" },
            rules.ToHashSet());
        Assert.True(Array.IndexOf(rules, "**/obj/") > Array.IndexOf(rules, "!src/**"), "bin/ and obj/ are excluded after src/ is let in");
    }

    private static IEnumerable<string> ProjectClosure(string root, string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([project]);
        while (pending.TryPop(out var next))
        {
            if (!seen.Add(next))
            {
                continue;
            }

            var dir = Path.GetDirectoryName(next)!;
            foreach (var reference in XDocument.Load(Path.Combine(root, next)).Descendants("ProjectReference"))
            {
                var full = Path.GetFullPath(Path.Combine(root, dir, reference.Attribute("Include")!.Value.Replace('\\', '/')));
                pending.Push(Path.GetRelativePath(root, full).Replace('\\', '/'));
            }
        }

        return seen;
    }
}
