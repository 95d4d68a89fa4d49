# The server image, built with no registry: FROM scratch with the compiled binary and the few shared
# libraries it links. `npm run image:server` (scripts/image_server.ts) prepares the context:
#   rootfs/clawfleet, rootfs/lib*, rootfs/etc/{passwd,group}, rootfs/data, rootfs/tmp
FROM scratch
COPY rootfs/ /
ENV CLAWFLEET_DATA_DIR=/data HOME=/data
USER 10001:10001
VOLUME ["/data"]
EXPOSE 3000
ENTRYPOINT ["/clawfleet"]
CMD ["serve"]
