using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using OrleansLlm.Options;
using OrleansLlm.Redis;
using StackExchange.Redis;

namespace OrleansLlm.Api.Files;

/// <summary>
/// Files in Redis: an upload in chunks of <see cref="ChunkBytes"/>, written as they arrive and read back one at a
/// time, so neither an upload nor a download holds a whole file; a record beside it, and each tenant's list.
/// Everything expires after <see cref="ApiOptions.FileTtl"/>.
/// </summary>
/// <remarks>
/// Redis rather than a volume or an object store: every silo reaches it already, files count toward the queue's
/// high-water mark like everything else there, and the batches that read them live in the same Redis.
/// </remarks>
public sealed class ApiFileStore(RedisConnection redis, IOptions<QueueOptions> queue, IOptions<ApiOptions> options, TimeProvider time)
{
    public const int ChunkBytes = 256 * 1024;

    private IDatabase Db => redis.Database;

    public ApiRedisKeys Keys { get; } = new(queue.Value.Name);

    public static string NewId() => $"file-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12))}";

    /// <summary>Stores <paramref name="content"/> in chunks under a new file id, with no record yet (<see cref="CommitAsync"/>).</summary>
    /// <exception cref="FileTooLargeException">It is longer than <see cref="ApiOptions.MaxFileBytes"/>; what was stored is gone.</exception>
    public async Task<(string Id, long Bytes, int Chunks)> UploadAsync(Stream content, CancellationToken cancellationToken)
    {
        var id = NewId();
        var data = Keys.FileData(id);
        var buffer = new byte[ChunkBytes];
        var (bytes, chunks) = (0L, 0);
        try
        {
            while (await FillAsync(content, buffer, cancellationToken).ConfigureAwait(false) is > 0 and var read)
            {
                bytes += read;
                if (bytes > options.Value.MaxFileBytes)
                {
                    throw new FileTooLargeException(options.Value.MaxFileBytes);
                }

                await Db.HashSetAsync(data, chunks, buffer.AsMemory(0, read)).ConfigureAwait(false);
                if (chunks++ == 0)
                {
                    // From the first chunk on, so an upload cut off half way goes away by itself.
                    await Db.KeyExpireAsync(data, options.Value.FileTtl).ConfigureAwait(false);
                }
            }
        }
        catch
        {
            await Db.KeyDeleteAsync(data).ConfigureAwait(false);
            throw;
        }

        return (id, bytes, chunks);
    }

    /// <summary>Writes a file's record and lists it for its tenant: an upload becomes visible here.</summary>
    public async Task CommitAsync(ApiFile file, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var key = Keys.File(file.Id);
        HashEntry[] fields =
        [
            new("tenant", file.Tenant),
            new("filename", file.Filename),
            new("purpose", file.Purpose),
            new("bytes", file.Bytes),
            new("created", file.CreatedAt.ToUnixTimeMilliseconds()),
            new("expires", file.ExpiresAt?.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) ?? string.Empty),
            new("batch", file.Batch ?? string.Empty),
            new("errors", file.Errors ? 1 : 0),
            new("chunks", file.Chunks),
        ];
        var batch = Db.CreateBatch();
        var writes = new List<Task> { batch.HashSetAsync(key, fields), batch.SortedSetAddAsync(Keys.Files(file.Tenant), file.Id, file.CreatedAt.ToUnixTimeMilliseconds()) };
        if (file.ExpiresAt is { } expires)
        {
            writes.Add(batch.KeyExpireAsync(key, expires.UtcDateTime));
        }

        batch.Execute();
        await Task.WhenAll(writes).ConfigureAwait(false);
    }

    /// <summary>The file's record; null when there is none (never was, deleted or expired).</summary>
    public async Task<ApiFile?> GetAsync(string fileId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var f = (await Db.HashGetAllAsync(Keys.File(fileId)).ConfigureAwait(false)).ToDictionary(e => (string)e.Name!, e => (string)e.Value!, StringComparer.Ordinal);
        if (!f.TryGetValue("tenant", out var tenant))
        {
            return null;
        }

        long Number(string name) => long.TryParse(f.GetValueOrDefault(name), CultureInfo.InvariantCulture, out var n) ? n : 0;
        return new ApiFile(
            fileId, tenant, f.GetValueOrDefault("filename", ""), f.GetValueOrDefault("purpose", "batch"), Number("bytes"),
            DateTimeOffset.FromUnixTimeMilliseconds(Number("created")),
            f.GetValueOrDefault("expires") is { Length: > 0 } ? DateTimeOffset.FromUnixTimeMilliseconds(Number("expires")) : null,
            f.GetValueOrDefault("batch") is { Length: > 0 } batch ? batch : null,
            Number("errors") == 1,
            (int)Number("chunks"));
    }

    /// <summary>A tenant's files, newest first (or oldest with <paramref name="ascending"/>), after <paramref name="after"/>.</summary>
    /// <returns>Up to <paramref name="limit"/> files, and whether there are more.</returns>
    public async Task<(IReadOnlyList<ApiFile> Files, bool HasMore)> ListAsync(
        string tenant, string? after, int limit, bool ascending, CancellationToken cancellationToken)
    {
        var list = Keys.Files(tenant);
        // Forget the entries of files that expired by now, which Redis took away by themselves.
        await Db.SortedSetRemoveRangeByScoreAsync(list, double.NegativeInfinity, (time.GetUtcNow() - options.Value.FileTtl).ToUnixTimeMilliseconds()).ConfigureAwait(false);
        var order = ascending ? Order.Ascending : Order.Descending;
        var start = 0L;
        if (after is not null && await Db.SortedSetRankAsync(list, after, order).ConfigureAwait(false) is { } rank)
        {
            start = rank + 1;
        }

        var files = new List<ApiFile>();
        var hasMore = false;
        while (files.Count <= limit)
        {
            var ids = await Db.SortedSetRangeByRankAsync(list, start, start + limit, order).ConfigureAwait(false);
            if (ids.Length == 0)
            {
                break;
            }

            start += ids.Length;
            foreach (var id in ids)
            {
                if (await GetAsync(id!, cancellationToken).ConfigureAwait(false) is not { } file)
                {
                    await Db.SortedSetRemoveAsync(list, id).ConfigureAwait(false);
                }
                else if (files.Count == limit)
                {
                    hasMore = true;
                    break;
                }
                else
                {
                    files.Add(file);
                }
            }

            if (hasMore)
            {
                break;
            }
        }

        return (files, hasMore);
    }

    public async Task DeleteAsync(ApiFile file, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await Db.KeyDeleteAsync([Keys.File(file.Id), Keys.FileData(file.Id)]).ConfigureAwait(false);
        await Db.SortedSetRemoveAsync(Keys.Files(file.Tenant), file.Id).ConfigureAwait(false);
    }

    /// <summary>Forgets what an upload stored, e.g. when the request turned out to be bad.</summary>
    public Task DiscardAsync(string fileId) => Db.KeyDeleteAsync(Keys.FileData(fileId));

    /// <summary>An upload's bytes, read a chunk at a time as the stream is read.</summary>
    public Stream OpenRead(ApiFile file) => new ChunkStream(() => Db, Keys.FileData(file.Id), file.Chunks);

    private static async Task<int> FillAsync(Stream content, byte[] buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < buffer.Length && await content.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false) is > 0 and var read)
        {
            filled += read;
        }

        return filled;
    }
}
