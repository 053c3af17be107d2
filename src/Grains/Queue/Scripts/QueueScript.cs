using System.Text;
using System.Text.RegularExpressions;
using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary>
/// One Lua script of the queue: its file (an embedded resource under <c>Queue/Scripts/</c>), run after the shared
/// helpers of <c>include/</c>, so every script reads them as its own locals.
/// </summary>
/// <remarks>
/// Redis numbers the lines of the composed text; <see cref="Explain"/> turns them back into the file and line they
/// came from, so an error in a script points into its file.
/// </remarks>
internal sealed partial class QueueScript
{
    // In the order they depend on each other: each may call only those before it.
    private static readonly string[] Includes = ["include/common.lua", "include/ending.lua", "include/scheduling.lua", "include/settling.lua"];

    private const string ResourcePrefix = "OrleansLlm.Queue.Scripts/";

    private readonly (string File, int FirstLine, int Lines)[] _parts;

    // The script's SHA-1, computed once: every call sends EVALSHA with it.
    private readonly byte[] _sha1;

    private QueueScript(string name, string text, (string, int, int)[] parts)
    {
        Name = name;
        Text = text;
        _parts = parts;
        _sha1 = System.Security.Cryptography.SHA1.HashData(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>The script's file, e.g. <c>lease/lease.lua</c>.</summary>
    public string Name { get; }

    /// <summary>What Redis runs: the includes, then the script.</summary>
    public string Text { get; }

    /// <param name="file">The script's path under <c>Queue/Scripts/</c>, e.g. <c>settle/complete.lua</c>.</param>
    public static QueueScript Load(string file)
    {
        var text = new StringBuilder();
        var parts = new List<(string, int, int)>();
        var line = 1;
        foreach (var part in (string[])[.. Includes, file])
        {
            var source = Read(part).TrimEnd('\n') + "\n";
            var lines = source.Count(c => c == '\n');
            parts.Add((part, line, lines));
            text.Append(source);
            line += lines;
        }

        return new QueueScript(file, text.ToString(), [.. parts]);
    }

    /// <summary>Every script of the queue (not the includes), as Redis runs them: for tools that name a script by its SHA-1.</summary>
    public static IEnumerable<QueueScript> All() =>
        typeof(QueueScript).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && !n.StartsWith(ResourcePrefix + "include/", StringComparison.Ordinal))
            .Select(n => Load(n[ResourcePrefix.Length..]));

    /// <summary>The SHA-1 Redis knows the script by (<c>EVALSHA</c>).</summary>
    public string Sha1 => Convert.ToHexStringLower(_sha1);

    /// <summary>Rewrites Redis' <c>user_script:LINE</c> in an error as the file and line it came from.</summary>
    public string Explain(string error) => UserScriptLine().Replace(error, m =>
    {
        var line = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (file, first, lines) in _parts)
        {
            if (line >= first && line < first + lines)
            {
                return $"{file}:{line - first + 1}";
            }
        }

        return m.Value;
    });

    /// <summary>Runs the script; a script error comes back naming the file and line.</summary>
    /// <remarks>
    /// EVALSHA with the SHA-1 computed once, not EVAL with the text: given the text, the client looks it up in its
    /// script cache by the whole text (tens of KB hashed and compared per call, a tenth of a busy silo's CPU). A Redis
    /// that does not know the script (restarted, flushed, or a new cluster node) gets it once through EVAL, which
    /// caches it there again.
    /// </remarks>
    public async Task<RedisResult> EvaluateAsync(IDatabaseAsync db, RedisKey[] keys, RedisValue[] values)
    {
        try
        {
            try
            {
                return await db.ScriptEvaluateAsync(_sha1, keys, values).ConfigureAwait(false);
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
            {
                return await db.ScriptEvaluateAsync(Text, keys, values).ConfigureAwait(false);
            }
        }
        catch (RedisServerException ex) when (UserScriptLine().IsMatch(ex.Message))
        {
            throw new RedisServerException(ex.Kind, ex.Flags, Explain(ex.Message));
        }
    }

    private static string Read(string file)
    {
        var name = ResourcePrefix + file;
        using var stream = typeof(QueueScript).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The queue script {name} is not embedded in {typeof(QueueScript).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd().Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    [GeneratedRegex(@"user_script:(\d+)")]
    private static partial Regex UserScriptLine();
}
