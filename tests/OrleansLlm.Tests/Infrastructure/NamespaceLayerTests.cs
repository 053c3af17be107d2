using ArchUnitNET.Domain;
using ArchUnitNET.Loader;
using OrleansLlm.Queue;
using OrleansLlm.Telemetry;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>
/// The grains' namespaces, one per folder of <c>src/Grains</c>, depend one way: a type uses its own namespace and the
/// levels below it, never a namespace beside it or above it, so a folder can be read and changed knowing only what
/// lies beneath it (docs/architecture.md, "Folders"). Read from the compiled code, method bodies included.
/// </summary>
[Trait("Category", "Unit")]
public sealed class NamespaceLayerTests
{
    private const string Root = "OrleansLlm";

    /// <summary>Bottom up. A namespace's own namespaces (<c>Queue.Scripts</c>) belong to it.</summary>
    public static readonly IReadOnlyList<string[]> Levels =
    [
        ["Options"],                        // what configuration says
        ["Redis"],                          // the silo's one connection
        ["Queue"],                          // every write to the queue: items, leases, their scripts and keys
        ["Telemetry"],                      // names, spans, failure reasons, log scopes; the meters of the levels below
        ["Inference"],                      // the seam to the model server: a question, its answer, the models served
        // batch records and results; the two backends; one worker per silo; webhooks for batch ends
        ["Batches", "Ollama", "OpenAiCompatible", "Placement", "Webhooks"],
        ["Worker", "Recovery"],             // lease, call, settle; handing orphaned leases back
        ["Coordinator", "Kubernetes"],      // the cluster's view and drains; pod deletion cost
        ["Hosting"],                        // the silo's registration of all of it
    ];

    private static readonly Lazy<Architecture> Grains = new(() => new ArchLoader().LoadAssemblies(typeof(RedisQueueItems).Assembly).Build());

    private static readonly Lazy<IReadOnlyList<(string From, string To)>> Uses = new(ReadUses);

    [Fact]
    public void EveryUse_GoesToTheSameNamespaceOrALevelBelow()
    {
        // A use only a method body makes (a static call): the check reads bodies, or it would miss most uses.
        Assert.Contains((typeof(QueueMetrics).FullName!, typeof(RedisQueueItems).FullName!), Uses.Value);

        var wrong = Uses.Value
            .Select(use => Problem(use.From, use.To))
            .OfType<string>()
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.True(wrong.Count == 0, $"uses that break the order of the grains' namespaces ({Describe()}):\n{string.Join('\n', wrong)}");
    }

    [Fact]
    public void EveryNamespace_HasALevel()
    {
        var namespaces = Grains.Value.Types.Where(IsOurs).Select(type => NamespaceOf(type.FullName)).Distinct().ToList();

        Assert.Contains("Worker", namespaces);
        Assert.All(namespaces, ns => Assert.True(LevelOf(ns) >= 0, $"{Root}.{ns} has no level: add it to {nameof(Levels)}, above what it uses"));
    }

    private static string? Problem(string from, string to)
    {
        var (fromNs, toNs) = (NamespaceOf(from), NamespaceOf(to));
        var (fromLevel, toLevel) = (LevelOf(fromNs), LevelOf(toNs));
        return fromNs == toNs || fromLevel < 0 || toLevel < 0 || toLevel < fromLevel
            ? null
            : $"{from} uses {to}: {fromNs} may not use {toNs}, which is {(toLevel == fromLevel ? "beside" : "above")} it";
    }

    /// <summary>Each grains type and each grains type it uses, nested and compiler-made types counted as the type that declares them.</summary>
    private static IReadOnlyList<(string From, string To)> ReadUses()
    {
        var ours = Grains.Value.Types.Where(IsOurs).Select(type => type.FullName).ToHashSet(StringComparer.Ordinal);
        return Grains.Value.Types
            .Where(IsOurs)
            .SelectMany(type => type.Dependencies)
            .Where(dependency => ours.Contains(dependency.Target.FullName))
            .Select(dependency => (From: Outermost(dependency.Origin.FullName), To: Outermost(dependency.Target.FullName)))
            .Where(use => use.From != use.To)
            .Distinct()
            .ToList();
    }

    // The silo's code, not what Orleans generates for it (OrleansCodeGen.*) or the compiler's own (global namespace).
    private static bool IsOurs(IType type) =>
        type.Assembly.FullName == typeof(RedisQueueItems).Assembly.FullName
        && (type.Namespace.FullName == Root || type.Namespace.FullName.StartsWith(Root + ".", StringComparison.Ordinal));

    private static string Outermost(string fullName) => fullName.Split('+', '/')[0];

    /// <summary><c>Queue</c> for <c>OrleansLlm.Queue.Scripts.LeaseCall</c>: the folder under src/Grains.</summary>
    private static string NamespaceOf(string fullName)
    {
        var parts = fullName.Split('.');
        return parts.Length > 2 ? parts[1] : string.Empty;
    }

    private static int LevelOf(string ns)
    {
        for (var level = 0; level < Levels.Count; level++)
        {
            if (Levels[level].Contains(ns))
            {
                return level;
            }
        }

        return -1;
    }

    private static string Describe() => string.Join(" < ", Levels.Select(level => string.Join(", ", level)));
}
