using System.Text.Json;
using OllamaSim;
using OrleansLlm.Client.Input;
using OrleansLlm.Options;
using OrleansLlm.Worker;

namespace OrleansLlm.Benchmarks;

/// <summary>One queue item as Bento would push it, with the prompt every design sends for it and its simulated cost.</summary>
public sealed record WorkItem(string Id, string Json, string Prompt, double SoloSeconds);

/// <summary>The same N items for every design: the first N cities of data/worldcities.csv, as `orleansllm submit` reads them.</summary>
public sealed class Workload(IReadOnlyList<WorkItem> items)
{
    /// <summary>The data rows of data/worldcities.csv: the whole data set.</summary>
    public const int AllRows = 44_691;

    public IReadOnlyList<WorkItem> Items { get; } = items;

    /// <summary>Different item ids: the file holds a few cities twice under one id, and their second answer is a duplicate, not a result.</summary>
    public int DistinctIds { get; } = items.Select(i => i.Id).Distinct(StringComparer.Ordinal).Count();

    public int Count => Items.Count;

    /// <summary>Σ SimulatedModel.SoloSecondsFor(prompt): the work, in seconds alone at speed 1 and time-scale 1.</summary>
    public double TotalSoloSeconds { get; } = items.Sum(i => i.SoloSeconds);

    /// <summary>The silo's own default prompt, so A/B/C send exactly what D's silos send.</summary>
    /// <summary>The first <paramref name="count"/> items.</summary>
    public Workload Take(int count) => count >= Count ? this : new Workload(Items.Take(count).ToArray());

    public static PromptTemplate Template { get; } = PromptTemplate.Parse(PromptOptions.DefaultTemplate);

    public static async Task<Workload> LoadAsync(int count, CancellationToken cancellationToken)
    {
        var source = await ItemSource.ReadItemsAsync(DataFile(), new ItemSourceOptions { Filter = new ItemFilter(Limit: count) }, cancellationToken).ToListAsync(cancellationToken);
        if (source.Count < count)
        {
            throw new InvalidOperationException($"data/worldcities.csv has only {source.Count} usable rows; ask for fewer items");
        }

        var items = new List<WorkItem>(count);
        foreach (var item in source)
        {
            using var json = JsonDocument.Parse(item.Json);
            var prompt = Template.Render(json.RootElement, out var missing)
                ?? throw new InvalidOperationException($"item {item.Id} lacks '{missing}', which the prompt needs");
            items.Add(new WorkItem(item.Id, item.Json, prompt, SimulatedModel.SoloSecondsFor(prompt)));
        }

        return new Workload(items);
    }

    public static string DataFile() => Path.Combine(RepoRoot(), "data", "worldcities.csv");

    /// <summary>The repository root: reports and data paths are relative to it, wherever `dotnet run` is started.</summary>
    public static string RepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "OrleansLlm.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("can't find the repository root (OrleansLlm.sln)");
    }
}
