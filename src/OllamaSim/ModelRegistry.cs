using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace OllamaSim;

/// <summary>Ollama's model naming: "name:tag", tag defaulting to "latest", case-insensitive.</summary>
public static partial class ModelName
{
    public static string Normalize(string name)
    {
        var trimmed = name.Trim().ToLowerInvariant();
        var lastSegment = trimmed[(trimmed.LastIndexOf('/') + 1)..];
        return lastSegment.Contains(':', StringComparison.Ordinal) ? trimmed : trimmed + ":latest";
    }

    /// <summary>"qwen2" for "qwen2:1.5b" or "library/qwen2:latest".</summary>
    public static string Family(string normalized)
    {
        var baseName = normalized[..normalized.LastIndexOf(':')];
        return baseName[(baseName.LastIndexOf('/') + 1)..];
    }

    /// <summary>"1.5B" for "qwen2:1.5b"; models without a size in the tag are taken to be 7B.</summary>
    public static double ParameterBillions(string normalized)
    {
        var match = SizeInTag().Match(normalized[(normalized.LastIndexOf(':') + 1)..]);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 7;
    }

    [GeneratedRegex(@"(\d+(?:\.\d+)?)b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SizeInTag();
}

/// <summary>A model the simulator knows, with made-up but stable metadata.</summary>
internal sealed record ModelEntry(string Name, DateTime ModifiedAt)
{
    public string Family => ModelName.Family(Name);

    public double ParameterBillions => ModelName.ParameterBillions(Name);

    public string ParameterSize => ParameterBillions.ToString(CultureInfo.InvariantCulture) + "B";

    /// <summary>Roughly a Q4_0 GGUF: about 0.6 bytes a parameter.</summary>
    public long Size => (long)(ParameterBillions * 0.6e9);

    public string Digest => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Name)));
}

/// <summary>
/// Known (pulled) models and which of them are loaded. Thread-safe. <paramref name="key"/> turns a requested name into
/// the registry's: Ollama's name:tag normalisation, or the name as it is where a server matches names exactly (vLLM).
/// </summary>
internal sealed class ModelRegistry(TimeProvider time, IEnumerable<string> initialModels, Func<string, string> key)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ModelEntry> _models =
        initialModels.Select(key).Distinct()
            .ToDictionary(n => n, n => new ModelEntry(n, time.GetUtcNow().UtcDateTime));

    // A model is loaded (or loading) while it has an entry here; the task completes when the load has.
    private readonly Dictionary<string, Task> _loads = [];

    public ModelEntry? Find(string name)
    {
        lock (_gate)
        {
            return _models.GetValueOrDefault(key(name));
        }
    }

    public IReadOnlyList<ModelEntry> List()
    {
        lock (_gate)
        {
            return _models.Values.OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
        }
    }

    public IReadOnlyList<ModelEntry> Loaded()
    {
        lock (_gate)
        {
            return _loads.Where(kv => kv.Value.IsCompletedSuccessfully)
                .Select(kv => _models[kv.Key]).OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
        }
    }

    public ModelEntry Add(string name)
    {
        var normalized = key(name);
        lock (_gate)
        {
            if (!_models.TryGetValue(normalized, out var entry))
            {
                _models[normalized] = entry = new ModelEntry(normalized, time.GetUtcNow().UtcDateTime);
            }

            return entry;
        }
    }

    /// <summary>Forgets <paramref name="name"/> and unloads it, as Ollama's delete does; false if it was not known.</summary>
    public bool Remove(string name)
    {
        var normalized = key(name);
        lock (_gate)
        {
            _loads.Remove(normalized);
            return _models.Remove(normalized);
        }
    }

    /// <summary>
    /// Waits until <paramref name="model"/> is loaded. The first caller after start or unload starts a load
    /// taking <paramref name="loadDelay"/>; everyone arriving meanwhile waits for that same load.
    /// </summary>
    public Task EnsureLoadedAsync(ModelEntry model, TimeSpan loadDelay, CancellationToken stopping, CancellationToken cancellationToken)
    {
        Task? load;
        lock (_gate)
        {
            if (!_loads.TryGetValue(model.Name, out load) || load.IsCanceled || load.IsFaulted)
            {
                // The load itself is not tied to the first caller's request: if that client gives up,
                // the model still finishes loading for the others, as in Ollama.
                load = loadDelay > TimeSpan.Zero ? Task.Delay(loadDelay, time, stopping) : Task.CompletedTask;
                _loads[model.Name] = load;
            }
        }

        return load.WaitAsync(cancellationToken);
    }

    public void Unload(string? name = null)
    {
        lock (_gate)
        {
            if (name is null)
            {
                _loads.Clear();
            }
            else
            {
                _loads.Remove(key(name));
            }
        }
    }
}
