using StackExchange.Redis;

namespace OrleansLlm.Api.Files;

/// <summary>A read-only stream over a file's chunks in Redis, fetching each when the reader reaches it.</summary>
public sealed class ChunkStream(Func<IDatabase> db, RedisKey data, int chunks) : Stream
{
    private byte[] _chunk = [];
    private int _offset;
    private int _next;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_offset == _chunk.Length)
        {
            if (_next == chunks)
            {
                return 0;
            }

            cancellationToken.ThrowIfCancellationRequested();
            var value = await db().HashGetAsync(data, _next++).ConfigureAwait(false);
            // A chunk gone means the file expired or was deleted while it was read: it ends short rather than lies.
            _chunk = value.IsNull ? throw new IOException("The file was deleted or expired while it was read.") : (byte[])value!;
            _offset = 0;
        }

        var n = Math.Min(buffer.Length, _chunk.Length - _offset);
        _chunk.AsMemory(_offset, n).CopyTo(buffer);
        _offset += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
